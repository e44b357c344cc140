import numpy as np
import pytest
import torch
from PIL import Image

from brnpa_plugins.core import (BRNPA, draw_outlines, explanation_maps,
                                heat_colormap,
                                min_max_normalize, render_ranked_maps,
                                saliency_map, save_ranked_maps)
from brnpa_plugins.core import render


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
    # 5 panels, then the colour bar (labels and a 16 px strip), 4 px gaps.
    assert figure.size[1] == panel
    assert figure.size[0] > 5 * panel + 5 * 4 + 16
    pixels = np.asarray(figure)
    for gap in range(5):
        start = gap * (panel + 4) + panel
        assert (pixels[:, start:start + 4] == 255).all()
    path = save_ranked_maps(tmp_path / 'maps' / 'a.png', image,
                            out.attention[0], out.norm[0], out.activity[0])
    assert Image.open(path).size == figure.size
    assert [p.name for p in (tmp_path / 'maps').iterdir()] == ['a.png']


def test_render_rejects_mismatched_maps():
    with pytest.raises(ValueError, match='same h x w'):
        render_ranked_maps(np.zeros((8, 8, 3), np.uint8), torch.rand(3, 4, 4),
                           torch.rand(5, 5))


# Layout used below: a 40 x 40 image upscaled by 4 to 160 px panels; panel i
# starts at column i * (160 + GAP): 0 image, 1 overlay, 2.. heatmaps, then the
# colour bar at the right end.
SIZE, PANEL, CELL = 40, 160, 20  # CELL: one 8 x 8 map cell in panel pixels


def _panel(figure, index):
    start = index * (PANEL + render.GAP)
    return np.asarray(figure)[:, start:start + PANEL]


def _heat_values(pixels):
    """Invert heat_colormap: the value whose colour is nearest each pixel."""
    values = np.linspace(0, 1, 1001)
    lut = heat_colormap(values).astype(np.int64)
    distance = ((pixels[..., None, :].astype(np.int64) - lut) ** 2).sum(-1)
    return values[distance.argmin(-1)]


def _peaked_maps(cells, low=0.05):
    attention = torch.full((len(cells), 8, 8), low)
    for k, (row, col) in enumerate(cells):
        attention[k, row, col] = 1.0
    return attention


def _hottest_cell(panel):
    values = _heat_values(panel)
    row, col = np.unravel_index(values.argmax(), values.shape)
    return row // CELL, col // CELL


def _grey_image():
    return np.full((SIZE, SIZE, 3), 128, np.uint8)


def _record(monkeypatch, name):
    """The arguments of every call of ``render.<name>`` from now on."""
    calls = []
    original = getattr(render, name)

    def spy(*args):
        calls.append(args)
        return original(*args)
    monkeypatch.setattr(render, name, spy)
    return calls


def _texts(calls):
    return [text for _, text in calls]


def test_maps_are_ranked_by_decreasing_activity(monkeypatch):
    labels = _record(monkeypatch, '_label')
    cells = [(6, 2), (5, 6), (2, 5)]
    figure = render_ranked_maps(_grey_image(), _peaked_maps(cells),
                                torch.ones(8, 8), [0.2, 0.7, 0.1],
                                opacity=1.0)
    # Activity 0.7 (map 1) first, then 0.2 (map 0), then 0.1 (map 2).
    assert [_hottest_cell(_panel(figure, 2 + k)) for k in range(3)] == [
        cells[1], cells[0], cells[2]]
    assert _texts(labels)[2:] == ['rank 1  act 0.70', 'rank 2  act 0.20',
                                  'rank 3  act 0.10']
    # The R channel of the overlay is rank 1.
    overlay = _panel(figure, 1).astype(int)
    red = overlay[..., 0] - overlay[..., 1:].max(-1)
    row, col = np.unravel_index(red.argmax(), red.shape)
    assert (row // CELL, col // CELL) == cells[1]


def test_ties_keep_order_and_no_activity_keeps_the_given_order(
        monkeypatch):
    labels = _record(monkeypatch, '_label')
    cells = [(6, 2), (5, 6), (2, 5)]
    attention = _peaked_maps(cells)
    figure = render_ranked_maps(_grey_image(), attention, torch.ones(8, 8),
                                opacity=1.0)
    assert [_hottest_cell(_panel(figure, 2 + k)) for k in range(3)] == cells
    assert _texts(labels)[1:] == ['map 1-3 as R,G,B', 'map 1', 'map 2',
                                  'map 3']
    tied = render_ranked_maps(_grey_image(), attention, torch.ones(8, 8),
                              torch.tensor([0.3, 0.5, 0.3]), opacity=1.0)
    assert [_hottest_cell(_panel(tied, 2 + k)) for k in range(3)] == [
        cells[1], cells[0], cells[2]]


def test_one_colour_scale_per_row_makes_a_weak_map_look_weak(monkeypatch):
    bars = _record(monkeypatch, '_colour_bar')
    attention = _peaked_maps([(6, 2), (3, 5)], low=0.0)
    attention[1] *= 0.1  # attention x norm 10 times smaller
    norm = torch.full((8, 8), 0.5)
    figure = render_ranked_maps(_grey_image(), attention, norm, [0.9, 0.1],
                                opacity=1.0)
    pixels = np.asarray(figure)
    top_colour = pixels[0, -1]
    assert top_colour.tolist() == heat_colormap(np.array(1.0)).tolist()
    # Each map's own peak, at the centre of its cell in panel pixels.
    strong = _panel(figure, 2)[6 * CELL + 10, 2 * CELL + 10]
    weak = _panel(figure, 3)[3 * CELL + 10, 5 * CELL + 10]
    assert strong.tolist() == top_colour.tolist()
    assert weak.tolist() != top_colour.tolist()
    assert _heat_values(weak) == pytest.approx(0.1, abs=0.02)
    # the max of attention x norm
    assert [call[1] for call in bars] == [pytest.approx(0.5)]


def test_colour_bar_runs_from_zero_at_the_bottom_to_one_at_the_top():
    figure = render_ranked_maps(_grey_image(), _peaked_maps([(6, 2)]),
                                torch.ones(8, 8))
    column = np.asarray(figure)[:, -1]
    assert column[0].tolist() == heat_colormap(np.array(1.0)).tolist()
    assert column[-1].tolist() == heat_colormap(np.array(0.0)).tolist()
    np.testing.assert_array_equal(
        column, heat_colormap(np.linspace(1, 0, PANEL)))
    values = _heat_values(column)
    assert np.all(np.diff(values) <= 0) and values[0] > values[-1]


def test_outlines_are_drawn_on_every_panel():
    green = [0, 255, 0]
    outlines = [(8, 12, 24, 32, 'decisive'), (26, 4, 38, 20, 'distractor')]
    figure = render_ranked_maps(_grey_image(), _peaked_maps([(6, 2), (2, 5)]),
                                torch.ones(8, 8), [0.4, 0.6],
                                outlines=outlines)
    left, top, right, bottom = 8 * 4, 12 * 4, 24 * 4 - 1, 32 * 4 - 1
    for index in range(4):  # image, overlay, two heatmaps
        panel = _panel(figure, index)
        for edge in (panel[top, left:right + 1], panel[bottom, left:right + 1],
                     panel[top:bottom + 1, left], panel[top:bottom + 1, right],
                     panel[top + 1, left:right + 1]):
            assert (edge == green).all()
        assert panel[(top + bottom) // 2, (left + right) // 2].tolist() \
            != green
        assert panel[top - 1, (left + right) // 2].tolist() != green
        # The distractor is dashed light grey: some of its top edge only.
        edge = panel[4 * 4, 26 * 4:38 * 4]
        grey = (edge == render.OUTLINE_COLOURS['distractor']).all(-1)
        assert 0.3 < grey.mean() < 0.7
    with pytest.raises(ValueError, match="'shadow'.*'decisive'"):
        render_ranked_maps(_grey_image(), _peaked_maps([(6, 2)]),
                           torch.ones(8, 8), outlines=[(0, 0, 4, 4, 'shadow')])


def test_activity_must_have_one_value_per_map():
    with pytest.raises(ValueError, match=r'\(2,\).*3 attention maps'):
        render_ranked_maps(_grey_image(), torch.rand(3, 8, 8),
                           torch.rand(8, 8), [0.5, 0.5])
    with pytest.raises(ValueError, match=r'\(3, 8, 8\) and \(1, 8, 8\)'):
        render_ranked_maps(_grey_image(), torch.rand(3, 8, 8),
                           torch.rand(1, 8, 8))


def test_contributions_follow_their_parts_into_the_ranked_labels(monkeypatch):
    labels = _record(monkeypatch, '_label')
    cells = [(6, 2), (5, 6), (2, 5)]
    render_ranked_maps(_grey_image(), _peaked_maps(cells), torch.ones(8, 8),
                       [0.2, 0.7, 0.1], contributions=[1.5, -0.25, 0.125])
    assert _texts(labels)[2:] == ['rank 1  act 0.70\nlogit -0.25',
                                  'rank 2  act 0.20\nlogit +1.50',
                                  'rank 3  act 0.10\nlogit +0.12']
    with pytest.raises(ValueError, match=r'contributions.*\(2,\).*3 attention'):
        render_ranked_maps(_grey_image(), _peaked_maps(cells),
                           torch.ones(8, 8), contributions=[1.0, 2.0])


def test_draw_outlines_is_the_image_panel_of_the_figure():
    outlines = [(8, 12, 24, 32, 'decisive'), (26, 4, 38, 20, 'distractor')]
    figure = render_ranked_maps(_grey_image(), _peaked_maps([(6, 2)]),
                                torch.ones(8, 8), outlines=outlines)
    drawn = draw_outlines(_grey_image(), outlines, scale=4)
    assert drawn.shape == (160, 160, 3)
    # the figure's first panel is the same, under its label
    np.testing.assert_array_equal(_panel(figure, 0)[40:], drawn[40:])
    assert (drawn[12 * 4, 8 * 4:24 * 4] == (0, 255, 0)).all()
    np.testing.assert_array_equal(draw_outlines(_grey_image(), []),
                                  _grey_image())


def test_the_colour_bar_names_what_the_maps_measure(monkeypatch):
    bars = _record(monkeypatch, '_colour_bar')
    render_ranked_maps(_grey_image(), _peaked_maps([(6, 2)]),
                       torch.ones(8, 8), value_name='saliency')
    assert bars[0][2] == 'saliency'
