"""RISE: seeded, batch-independent, and right on a model with a known answer."""
import pytest
import torch

from brnpa_plugins.evaluation import RiseMasks, rise


def test_masks_are_seeded_and_smooth():
    first = RiseMasks(20, (32, 32), cells=4, seed=3)(torch.arange(20))
    again = RiseMasks(20, (32, 32), cells=4, seed=3)(torch.arange(20))
    other = RiseMasks(20, (32, 32), cells=4, seed=4)(torch.arange(20))
    assert first.shape == (20, 32, 32)
    assert torch.equal(first, again) and not torch.equal(first, other)
    assert 0 <= first.min() and first.max() <= 1 + 1e-6
    # bilinear upsampling: values between 0 and 1 occur
    assert ((first > 0.05) & (first < 0.95)).any()
    # indexing a subset gives the same masks as the full set
    assert torch.equal(RiseMasks(20, (32, 32), cells=4, seed=3)(
        torch.tensor([7, 2])), first[[7, 2]])


def test_rise_is_reproducible_and_independent_of_the_batch_size(tiny_cnn):
    images = torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    targets = torch.tensor([0, 3])
    one = rise(tiny_cnn, images, targets, num_masks=30, cells=4, seed=1,
               batch_size=7)
    two = rise(tiny_cnn, images, targets, num_masks=30, cells=4, seed=1,
               batch_size=1000)
    other = rise(tiny_cnn, images, targets, num_masks=30, cells=4, seed=2)
    assert one.shape == (2, 16, 16)
    assert torch.allclose(one, two, atol=1e-5)
    assert not torch.allclose(one, other)


def test_rise_finds_the_region_the_score_depends_on(region_model):
    images = torch.ones(1, 1, 8, 8)
    saliency = rise(region_model, images, torch.tensor([0]), num_masks=400,
                    cells=2, seed=0)[0]
    region = region_model.region.bool()
    assert saliency[region].mean() > 1.2 * saliency[~region].mean()
    top = saliency.flatten().topk(16).indices
    assert region.flatten()[top].float().mean() >= 0.9


def test_bad_arguments_are_refused(tiny_cnn):
    with pytest.raises(ValueError, match='num_masks'):
        RiseMasks(0, (8, 8))
    with pytest.raises(ValueError, match='probability'):
        RiseMasks(4, (8, 8), probability=0.0)
