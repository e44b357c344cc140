"""Control maps: random, Gaussian, saturation, oracle and anti-oracle."""
import numpy as np
import pytest
import torch

from brnpa_plugins.evaluation import compute_saliency
from brnpa_plugins.evaluation.methods.controls import IMAGENET_MEAN, IMAGENET_STD
from brnpa_plugins.evaluation.ground_truth import GroundTruth


def normalise(pixels):
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return (pixels - mean) / std


def test_random_maps_are_seeded_and_on_the_grid():
    images = torch.zeros(2, 3, 32, 32)
    a = compute_saliency('random', None, images, None, seed=1, stride=8)
    b = compute_saliency('random', None, images, None, seed=1, stride=8)
    c = compute_saliency('random', None, images, None, seed=2, stride=8)
    assert a.shape == (2, 4, 4) and torch.equal(a, b)
    assert not torch.equal(a, c)
    with pytest.raises(ValueError, match='dividing the image size'):
        compute_saliency('random', None, images, None, stride=5)


def test_gaussian_peaks_in_the_centre():
    maps = compute_saliency('gaussian', None, torch.zeros(1, 3, 32, 32),
                            None, stride=4)
    assert maps.shape == (1, 8, 8)
    assert maps[0, 3:5, 3:5].min() == maps.max()
    assert maps[0, 0, 0] < 0.3 * maps.max()


def test_saturation_finds_the_coloured_pixels_without_a_model():
    pixels = torch.full((1, 3, 16, 16), 120.0)  # grey
    pixels[0, :, 8:, :8] = torch.tensor([220.0, 30, 30])[:, None, None]
    maps = compute_saliency('saturation', None, normalise(pixels), None,
                            stride=8, mean=IMAGENET_MEAN, std=IMAGENET_STD)
    assert maps.shape == (1, 2, 2)
    assert maps[0, 1, 0] == 1 and maps[0].sum() == 1


def test_oracle_and_anti_oracle_are_the_ground_truth_boxes():
    truth = GroundTruth.from_objects([(np.array([[0, 0, 8, 8],
                                                 [8, 8, 16, 16]]),
                                       np.array([True, False]))])
    images = torch.zeros(1, 3, 16, 16)
    oracle = compute_saliency('oracle', None, images, None, stride=4,
                              ground_truth=truth)
    anti = compute_saliency('anti-oracle', None, images, None, stride=4,
                            ground_truth=truth)
    assert oracle[0, :2, :2].min() == 1 and oracle.sum() == 4
    assert anti[0, 2:, 2:].min() == 1 and anti.sum() == 4
    with pytest.raises(ValueError, match='needs ground_truth'):
        compute_saliency('oracle', None, images, None)


def test_the_pixel_oracle_is_the_ceiling_of_pointing_and_energy():
    """Pooled to 8 px cells, a 12 px box off the grid spills mass onto its
    neighbours; at full resolution the oracle holds all of it."""
    from brnpa_plugins.evaluation import ground_truth as gt
    truth = GroundTruth.from_objects([(np.array([[3, 5, 15, 17],
                                                 [20, 20, 32, 32]]),
                                       np.array([True, False]))])
    images = torch.zeros(1, 3, 32, 32)
    pixels = compute_saliency('oracle-pixels', None, images, None, stride=8,
                              ground_truth=truth)
    grid = compute_saliency('oracle', None, images, None, stride=8,
                            ground_truth=truth)
    assert pixels.shape == (1, 32, 32) and pixels.sum() == 144
    energy = {name: float(gt.decisive_energy(maps, truth, (32, 32)))
              for name, maps in (('pixels', pixels), ('grid', grid))}
    assert energy['pixels'] == 1.0 and energy['grid'] < 0.9
    assert float(gt.decisive_pointing(pixels, truth, (32, 32), 0)) == 1.0


def test_white_pixels_finds_white_pixels_only():
    pixels = torch.full((1, 3, 16, 16), 120.0)
    pixels[0, :, :4, :8] = 255.0  # white: a quarter of the top-left cell
    pixels[0, :, 8:, 8:] = torch.tensor([250.0, 250, 30])[:, None, None]
    maps = compute_saliency('white-pixels', None, normalise(pixels), None,
                            stride=8)
    assert torch.allclose(maps, torch.tensor([[[0.5, 0.0], [0.0, 0.0]]]))


def test_edge_energy_follows_the_gradient():
    pixels = torch.full((1, 3, 16, 16), 100.0)
    pixels[0, :, :, 12:] = 200.0  # one vertical edge, in the right cells
    maps = compute_saliency('edge-energy', None, normalise(pixels), None,
                            stride=8)
    assert maps[0, :, 0].max() == 0 and maps[0, :, 1].min() > 0
    assert torch.equal(maps[0, 0], maps[0, 1])
    flat = compute_saliency('edge-energy', None, normalise(pixels * 0 + 90),
                            None, stride=4)
    assert flat.abs().max() < 1e-3


@pytest.mark.parametrize('variant, options', [
    ('white-rim', {}),
    ('two-tone-rim', dict(image_size=112, part_size=12, distractors=6,
                          distractor_colours='complete'))])
def test_each_variant_s_cue_detector_on_its_dataset(variant, options,
                                                    tmp_path):
    """On the white-rim variant the white-pixel detector puts many times
    more mass per decisive part than per distractor and points at a part in
    every image; on the two-tone variant neither cue detector tells decisive
    parts from distractors."""
    from brnpa_plugins.data import (SyntheticPartsConfig,
                                    generate_part_dataset)
    from brnpa_plugins.data.synthetic import VARIANTS
    from brnpa_plugins.evaluation.methods.controls import CUE_DETECTORS
    from brnpa_plugins.evaluation.shortcuts import cue_detector_scores
    assert set(CUE_DETECTORS) == set(VARIANTS)
    config = SyntheticPartsConfig(train_per_class=1, test_per_class=4,
                                  variant=variant, **options)
    root = generate_part_dataset(str(tmp_path / variant), config)
    grid, pixels = cue_detector_scores(root), cue_detector_scores(root, 1)
    assert list(grid) == ['edge-energy', 'white-pixels', 'oracle']
    assert grid['oracle'].pointing == 1 and grid['oracle'].ratio > 100
    assert pixels['oracle'].ratio == np.inf
    if variant == 'white-rim':
        assert grid['white-pixels'].pointing == 1
        assert grid['white-pixels'].ratio > 50
        assert grid['edge-energy'].ratio > 3
    else:  # every object holds as many white pixels and edges
        assert pixels['white-pixels'].ratio == pytest.approx(1, abs=1e-6)
        assert pixels['edge-energy'].ratio == pytest.approx(1, abs=0.02)
        assert grid['edge-energy'].ratio == pytest.approx(1, abs=0.05)
        for name in CUE_DETECTORS.values():
            assert grid[name].energy < grid['oracle'].energy / 2
