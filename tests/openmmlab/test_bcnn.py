"""The B-CNN neck: structure of its output, and training in a real Runner."""
import pytest
import torch
from mmengine.runner import Runner

import brnpa_plugins.openmmlab  # noqa: F401
from brnpa_plugins.openmmlab import ATTENTION_FIELD, BRNPANeckOutput
from brnpa_plugins.openmmlab.bcnn import BCNNNeck
from mmpretrain.registry import MODELS


def test_output_has_the_brnpa_structure():
    torch.manual_seed(0)
    neck = BCNNNeck(in_channels=16, num_parts=4).eval()
    features = torch.rand(2, 16, 5, 6)
    out = neck((torch.rand(2, 8, 10, 12), features))
    assert isinstance(out, BRNPANeckOutput)
    assert out.attention.shape == (2, 4, 5, 6)
    assert out.activity.shape == (2, 4)
    assert out.norm.shape == (2, 5, 6)
    assert out.features.shape == (2, 4 * 16)
    assert (out.attention >= 0).all()
    sums = out.attention.flatten(2).sum(2)
    assert torch.allclose(sums, torch.ones_like(sums), atol=1e-5)
    assert (out.activity[:, :-1] >= out.activity[:, 1:]).all()
    assert torch.allclose(out.norm, features.norm(dim=1))
    # signed sqrt + L2: the part vector has the norm `scale`
    assert torch.allclose(out.features.norm(dim=1),
                          torch.full((2, ), 100.0), atol=1e-3)


def test_part_vectors_keep_the_channel_order():
    """Sorting maps for display must not permute the classifier's input."""
    torch.manual_seed(0)
    neck = BCNNNeck(in_channels=4, num_parts=2, normalize=False).eval()
    x = torch.rand(1, 4, 3, 3)
    maps = neck.attention(x)
    expected = torch.einsum('bnhw,bchw->bnc', maps, x).flatten(1) / 9
    assert torch.allclose(neck(x).features, expected, atol=1e-6)


def test_arguments_are_validated():
    with pytest.raises(ValueError, match='in_channels'):
        BCNNNeck(in_channels=0)
    with pytest.raises(ValueError, match='scale'):
        BCNNNeck(in_channels=4, scale=0)
    with pytest.raises(ValueError, match='in_channels=8'):
        BCNNNeck(in_channels=8)(torch.rand(1, 4, 3, 3))
    with pytest.raises(ValueError, match='in_index=3'):
        BCNNNeck(in_channels=4, in_index=3)((torch.rand(1, 4, 3, 3), ))


def test_trains_one_epoch_with_the_brnpa_head(tiny_cfg):
    assert MODELS.get('BCNNNeck') is BCNNNeck
    tiny_cfg.model.neck = dict(type='BCNNNeck', in_channels=64, num_parts=3)
    runner = Runner.from_cfg(tiny_cfg)
    before = runner.model.neck.attention[0].weight.detach().clone()
    runner.train()
    assert runner.epoch == 1
    assert not torch.equal(before, runner.model.neck.attention[0].weight)
    runner.model.eval()
    batch = next(iter(runner.test_dataloader))
    samples = runner.model.test_step(batch)
    assert samples[0].get(ATTENTION_FIELD).shape == (3, 8, 8)
