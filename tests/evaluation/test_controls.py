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
