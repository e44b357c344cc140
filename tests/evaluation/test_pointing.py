import numpy as np
import pytest
import torch

from brnpa_plugins.evaluation.pointing import map_peaks, pointing_game


def test_peak_of_a_one_hot_map_is_its_cell_centre():
    saliency = torch.zeros(1, 4, 4)
    saliency[0, 1, 2] = 1.0  # row 1, column 2 of a 4x4 map on a 40 px image
    peak = map_peaks(saliency, (40, 40))[0]
    assert 20 <= peak[0] <= 30 and 10 <= peak[1] <= 20


def test_hits_misses_and_images_without_parts():
    saliency = torch.zeros(3, 4, 4)
    saliency[:, 1, 2] = 1.0
    peak = map_peaks(saliency[:1], (40, 40))[0].numpy()
    points = [
        np.array([[peak[0] + 3, peak[1]]]),  # 3 px away: hit
        np.array([[5.0, 35.0], [peak[0], peak[1] + 6]]),  # 6 px away: miss
        np.zeros((0, 2)),  # no visible part: not scored
    ]
    hits = pointing_game(saliency, points, (40, 40), tolerance=5)
    assert hits[0] == 1.0 and hits[1] == 0.0 and torch.isnan(hits[2])
    assert pointing_game(saliency, points, (40, 40), tolerance=6.5)[1] == 1.0


def test_bad_inputs_are_clear_errors():
    with pytest.raises(ValueError, match='one map per image'):
        pointing_game(torch.rand(2, 4, 4), [np.zeros((1, 2))], (8, 8), 1.0)
    with pytest.raises(ValueError, match='tolerance'):
        pointing_game(torch.rand(1, 4, 4), [np.zeros((1, 2))], (8, 8), -1)
