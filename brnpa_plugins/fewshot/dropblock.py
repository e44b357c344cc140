"""DropBlock (Ghiasi et al., 2018) for the few-shot embedding networks."""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class DropBlock(nn.Module):
    """Drop contiguous ``block_size`` x ``block_size`` squares of each map.

    DropBlock (Ghiasi et al., 2018), as the few-shot ResNet-12 recipes use
    it after the blocks of ``layer3`` and ``layer4``: in training, block
    centres are drawn with the probability ``gamma`` that drops about
    ``drop_rate`` of the positions, every feature map (channel) on its own,
    and the kept activations are rescaled so that their sum is unchanged.
    In eval mode, or while the rate is 0, it is the identity.

    Args:
        drop_rate (float): Fraction of positions to drop, in [0, 1).
        block_size (int): Side of the dropped squares (cut to the map size).
        schedule_steps (int): Raise the rate linearly from 0 to
            ``drop_rate`` over this many training forward passes (one per
            episode or pre-training batch); 0 uses ``drop_rate`` from the
            start. The count is a buffer, so it is saved and resumed with
            the model.
    """

    def __init__(self, drop_rate: float, block_size: int = 5,
                 schedule_steps: int = 0):
        super().__init__()
        if not 0 <= drop_rate < 1:
            raise ValueError(f'drop_rate must be in [0, 1), got '
                             f'{drop_rate!r}')
        if not isinstance(block_size, int) or block_size < 1:
            raise ValueError('dropblock_size must be a positive integer, '
                             f'got {block_size!r}')
        if not isinstance(schedule_steps, int) or schedule_steps < 0:
            raise ValueError('dropblock_steps must be an integer >= 0 (0: '
                             f'no schedule), got {schedule_steps!r}')
        self.drop_rate = float(drop_rate)
        self.block_size = block_size
        self.schedule_steps = schedule_steps
        self.register_buffer('num_steps', torch.zeros((), dtype=torch.long))

    def extra_repr(self) -> str:
        return (f'drop_rate={self.drop_rate}, block_size={self.block_size}, '
                f'schedule_steps={self.schedule_steps}')

    @property
    def current_rate(self) -> float:
        """The drop rate of the next training pass (after the schedule)."""
        if self.schedule_steps == 0:
            return self.drop_rate
        done = min(int(self.num_steps), self.schedule_steps)
        return self.drop_rate * done / self.schedule_steps

    def forward(self, x: Tensor) -> Tensor:
        if not self.training:
            return x
        rate = self.current_rate
        self.num_steps += 1
        if rate == 0:
            return x
        height, width = x.shape[-2:]
        size = min(self.block_size, height, width)
        # Centres are drawn where a whole block fits, so every dropped
        # block lies inside the map; gamma corrects for the smaller area.
        valid = (height - size + 1) * (width - size + 1)
        gamma = rate * height * width / (size**2 * valid)
        centres = torch.bernoulli(x.new_full(
            (*x.shape[:-2], height - size + 1, width - size + 1),
            min(gamma, 1.0)))
        centres = F.pad(centres, (size - 1, size - 1, size - 1, size - 1))
        dropped = F.max_pool2d(centres.flatten(0, -3).unsqueeze(1), size,
                               stride=1).view_as(x)
        keep = 1 - dropped
        return x * keep * (keep.numel() / keep.sum().clamp(min=1))


def with_dropblock(stage: nn.Module, dropblock: Optional[DropBlock]
                   ) -> nn.Module:
    """``stage`` followed by ``dropblock`` (a new child, so the weights of
    the stage keep their names)."""
    if dropblock is None:
        return stage
    return nn.Sequential(*stage.children(), dropblock)
