"""Average drop and increase in confidence."""
import pytest
import torch

from brnpa_plugins.evaluation import confidence_change


def test_a_map_on_the_region_keeps_the_score(region_model):
    images = torch.ones(2, 1, 8, 8)
    on_region = region_model.region.expand(2, 8, 8)
    # a map at the image's resolution is applied as is: the region stays
    kept = confidence_change(region_model, images, on_region)
    assert torch.allclose(kept.drop, torch.zeros(2), atol=1e-5)
    assert torch.equal(kept.increase, torch.zeros(2))
    # the opposite map zeroes the region: the whole probability drops
    lost = confidence_change(region_model, images, 1 - on_region)
    assert torch.allclose(lost.drop, torch.ones(2), atol=1e-4)


def test_a_higher_masked_score_counts_as_an_increase(region_model):
    images = torch.ones(1, 1, 8, 8)
    images[0, 0, 0, 0] = 0.5  # a dim pixel in the region ...
    saliency = torch.ones(1, 8, 8)
    saliency[0, 0, 0] = 0.0  # ... that the map hides: masked score is lower
    assert confidence_change(region_model, images, saliency).increase == 0
    # the predicted class is 0 (fraction > 1/2); scoring class 1 instead,
    # hiding a region pixel raises its probability
    result = confidence_change(region_model, images, saliency,
                               target=torch.tensor([1]))
    assert result.increase.item() == 1.0 and result.drop.item() == 0.0


def test_bad_maps_are_refused(region_model):
    with pytest.raises(ValueError, match='does not tile'):
        confidence_change(region_model, torch.ones(1, 1, 8, 8),
                          torch.rand(1, 3, 3))
