"""Sparsity: max / mean of the min-max normalised map."""
import pytest
import torch

from brnpa_plugins.evaluation import sparsity


def test_peaked_constant_and_spread_maps():
    peaked = torch.zeros(1, 4, 4)
    peaked[0, 1, 2] = 3.0
    half = torch.zeros(1, 4, 4)
    half[0, :2] = 1.0
    constant = torch.full((1, 4, 4), 0.7)
    values = sparsity(torch.cat([peaked, half, constant]))
    assert torch.allclose(values, torch.tensor([16.0, 2.0, 1.0]))


def test_nan_maps_are_refused():
    with pytest.raises(ValueError, match='NaN'):
        sparsity(torch.full((1, 2, 2), float('nan')))
