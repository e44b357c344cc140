"""Exact part contributions of a linear head (core.contributions)."""
import pytest
import torch
from torch import nn

from brnpa_plugins.core import BRNPA, class_contributions, part_contributions


def test_contributions_sum_to_the_logit_minus_the_bias_exactly():
    generator = torch.Generator().manual_seed(0)
    features = torch.rand(4, 8, 5, 6, generator=generator, dtype=torch.float64)
    parts = BRNPA(num_parts=3)(features.float()).features.double()
    layer = nn.Linear(3 * 8, 7, bias=True).double()
    with torch.no_grad():
        layer.bias.normal_(generator=generator)
        logits = layer(parts.flatten(1))
    contributions = part_contributions(parts, layer.weight.detach())
    assert contributions.shape == (4, 3, 7)
    torch.testing.assert_close(contributions.sum(dim=1),
                               logits - layer.bias.detach(),
                               rtol=0, atol=1e-12)
    # part n's term only reads part n: changing part 2 leaves 0 and 1 alone
    changed = parts.clone()
    changed[:, 2] += 1.0
    again = part_contributions(changed, layer.weight.detach())
    assert torch.equal(again[:, :2], contributions[:, :2])
    assert not torch.allclose(again[:, 2], contributions[:, 2])


def test_each_contribution_is_its_slice_of_the_weight_times_its_part():
    parts = torch.tensor([[[1.0, 2.0], [3.0, -1.0]]], dtype=torch.float64)
    weight = torch.tensor([[1.0, 0.0, 0.0, 1.0], [0.5, 0.5, 2.0, 0.0]],
                          dtype=torch.float64)
    contributions = part_contributions(parts, weight)
    assert contributions.tolist() == [[[1.0, 1.5], [-1.0, 6.0]]]
    assert class_contributions(contributions, torch.tensor([1])).tolist() == \
        [[1.5, 6.0]]


@pytest.mark.parametrize('parts, weight, message', [
    (torch.zeros(2, 6), torch.zeros(3, 6), 'B x N x C'),
    (torch.zeros(2, 3, 4), torch.zeros(5, 11), 'K x 12'),
    (torch.zeros(2, 3, 4), torch.zeros(12), 'K x 12'),
])
def test_wrong_shapes_are_named(parts, weight, message):
    with pytest.raises(ValueError, match=message):
        part_contributions(parts, weight)
