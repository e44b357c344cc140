"""DropBlock in the project's ResNet-12 (and the other built-in backbones)."""
import pytest
import torch
import torch.nn.functional as F

from brnpa_plugins.fewshot import BRNPAProtoNet, DropBlock, FewShotBackbone

WIDTHS = (4, 6, 8, 10)


def covered_by_whole_blocks(zeros: torch.Tensor, size: int) -> bool:
    """Whether every zero of a B x C x H x W mask lies in a size x size
    window of zeros (the union of dropped blocks), nothing else."""
    maps = zeros.flatten(0, 1).unsqueeze(1).float()
    whole = F.avg_pool2d(maps, size, stride=1) == 1
    covered = F.max_pool2d(F.pad(whole.float(), [size - 1] * 4), size,
                           stride=1)
    return torch.equal(covered.bool(), maps.bool())


def test_training_drops_contiguous_blocks_and_rescales():
    torch.manual_seed(0)
    drop = DropBlock(0.25, block_size=3).train()
    x = torch.ones(4, 8, 24, 24)
    y = drop(x)
    zeros = y == 0
    assert zeros.any()
    assert covered_by_whole_blocks(zeros, 3)
    # Kept activations are scaled so that the sum is unchanged.
    kept = y[~zeros]
    assert torch.allclose(kept, torch.full_like(kept, x.numel() /
                                                kept.numel()))
    # About drop_rate of the positions, each channel on its own.
    assert 0.18 < zeros.float().mean() < 0.32
    assert not torch.equal(zeros[:, 0], zeros[:, 1])


def test_independent_dropout_would_fail_the_block_check():
    torch.manual_seed(0)
    zeros = F.dropout(torch.ones(4, 8, 24, 24), 0.25) == 0
    assert not covered_by_whole_blocks(zeros, 3)


def test_eval_mode_is_the_identity():
    drop = DropBlock(0.5, block_size=3).eval()
    x = torch.rand(2, 3, 10, 10)
    assert torch.equal(drop(x), x)
    assert int(drop.num_steps) == 0


def test_the_rate_rises_linearly_and_is_resumed():
    drop = DropBlock(0.2, block_size=2, schedule_steps=4).train()
    x = torch.ones(2, 4, 16, 16)
    rates = []
    for _ in range(6):
        rates.append(drop.current_rate)
        y = drop(x)
        if rates[-1] == 0:
            assert torch.equal(y, x)
    assert rates == pytest.approx([0, 0.05, 0.1, 0.15, 0.2, 0.2])
    again = DropBlock(0.2, block_size=2, schedule_steps=4)
    again.load_state_dict(drop.state_dict())
    assert again.current_rate == 0.2


def test_a_block_larger_than_the_map_is_cut_to_it():
    torch.manual_seed(0)
    y = DropBlock(0.5, block_size=7).train()(torch.ones(64, 1, 3, 3))
    maps = (y == 0).flatten(1)
    # Each map is dropped whole or kept whole.
    assert bool((maps.all(1) | ~maps.any(1)).all()) and maps.any()


def test_off_by_default_so_checkpoints_are_unchanged():
    default = FewShotBackbone('resnet12', WIDTHS, high_resolution=True)
    assert not any(isinstance(m, DropBlock) for m in default.modules())
    dropping = FewShotBackbone('resnet12', WIDTHS, high_resolution=True,
                               drop_rate=0.1, dropblock_size=3)
    blocks = [name for name, m in dropping.named_modules()
              if isinstance(m, DropBlock)]
    assert blocks == ['layer3.1', 'layer4.1']
    # The same weights under the same names; only the step counters more.
    extra = set(dropping.state_dict()) - set(default.state_dict())
    assert extra == {'layer3.1.num_steps', 'layer4.1.num_steps'}
    dropping.load_state_dict(default.state_dict(), strict=False)
    images = torch.rand(2, 3, 32, 32)
    default.eval(), dropping.eval()
    assert torch.equal(default(images), dropping(images))
    dropping.train()
    assert not torch.equal(dropping(images), default.train()(images))


def test_dropblock_from_the_model_config():
    model = BRNPAProtoNet(backbone=dict(type='resnet12', drop_rate=0.1,
                                        dropblock_size=5,
                                        dropblock_steps=100),
                          widths=WIDTHS)
    blocks = [m for m in model.modules() if isinstance(m, DropBlock)]
    assert [b.schedule_steps for b in blocks] == [100, 100]
    support = torch.rand(4, 3, 32, 32)
    model(support, torch.tensor([0, 0, 1, 1]), torch.rand(2, 3, 32, 32))
    assert [int(b.num_steps) for b in blocks] == [1, 1]


@pytest.mark.parametrize('kwargs, match', [
    (dict(drop_rate=1.0), r'drop_rate must be in \[0, 1\)'),
    (dict(drop_rate=0.1, dropblock_size=0), 'dropblock_size must be'),
    (dict(dropblock_steps=-1), 'dropblock_steps must be'),
    (dict(drop_rate=0.1, dropblock_stages=('layer5', )),
     'dropblock_stages must be'),
])
def test_bad_dropblock_options_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        FewShotBackbone('resnet12', WIDTHS, **kwargs)
