import numpy as np
import pytest
import torch
from PIL import Image

from brnpa_plugins.core import (BRNPA, explanation_maps, heat_colormap,
                                min_max_normalize, render_ranked_maps,
                                saliency_map, save_ranked_maps)


def test_min_max_normalize_maps_to_unit_range_and_constant_to_zero():
    maps = torch.tensor([[[1., 3.], [2., 5.]], [[4., 4.], [4., 4.]]])
    out = min_max_normalize(maps)
    torch.testing.assert_close(out[0], torch.tensor([[0., .5], [.25, 1.]]))
    torch.testing.assert_close(out[1], torch.zeros(2, 2))


def test_saliency_is_the_top_map_times_the_norm():
    out = BRNPA(num_parts=3)(torch.rand(2, 6, 4, 4))
    expected = min_max_normalize(out.attention[:, 0] * out.norm)
    torch.testing.assert_close(saliency_map(out.attention, out.norm),
                               expected)
    assert explanation_maps(out.attention, out.norm).shape == (2, 3, 4, 4)


def test_heat_colormap_endpoints():
    rgb = heat_colormap(np.array([0.0, 1.0, np.nan]))
    assert rgb.dtype == np.uint8
    assert rgb[0].tolist() == [0, 0, 128] and rgb[1].tolist() == [128, 0, 0]
    assert rgb[2].tolist() == rgb[0].tolist()


def test_rendered_figure_has_one_panel_per_part_plus_two(tmp_path):
    image = (np.random.default_rng(0).random((40, 40, 3)) * 255).astype(
        np.uint8)
    out = BRNPA(num_parts=3)(torch.rand(1, 8, 5, 5))
    figure = render_ranked_maps(image, out.attention[0], out.norm[0],
                                out.activity[0], title='class 3')
    panel = 160  # 40 px upscaled by 4 to reach min_panel
    assert figure.size == (5 * panel + 4 * 4, panel)
    path = save_ranked_maps(tmp_path / 'maps' / 'a.png', image,
                            out.attention[0], out.norm[0], out.activity[0])
    assert Image.open(path).size == figure.size
    assert [p.name for p in (tmp_path / 'maps').iterdir()] == ['a.png']


def test_render_rejects_mismatched_maps():
    with pytest.raises(ValueError, match='same h x w'):
        render_ranked_maps(np.zeros((8, 8, 3), np.uint8), torch.rand(3, 4, 4),
                           torch.rand(5, 5))
