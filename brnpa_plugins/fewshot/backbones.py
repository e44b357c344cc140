"""Few-shot embedding networks: ResNet-12, Conv-4 and ResNet-18.

All three are built by :class:`FewShotBackbone`: an optional stem followed by
four stages named ``layer1`` ... ``layer4``, each of which may halve the
resolution. Only how a stage is made differs between architectures. The
high-resolution option is the registered backbone families' surgery
(:func:`brnpa_plugins.backbones.to_high_resolution`: the ``pooling`` family
for ResNet-12 and Conv-4, ``resnet`` for ResNet-18), so the last two stages
keep their input resolution (spec sections 1 and 6). The weights do not
change shape, so a low-resolution checkpoint loads into the
high-resolution network (the distillation teacher and its student share one
architecture). :class:`~.dropblock.DropBlock` can follow the blocks of chosen
stages.
"""
from typing import Callable, NamedTuple, Optional, Sequence

import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.models.resnet import BasicBlock

from ..backbones import to_high_resolution
from ..core.checks import reject_unknown_kwargs
from .dropblock import DropBlock, with_dropblock


def _conv_bn(in_channels: int, out_channels: int, kernel_size: int = 3,
             stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, stride,
                  padding=kernel_size // 2, bias=False),
        nn.BatchNorm2d(out_channels))


def _pool(stride: int) -> nn.Module:
    return nn.MaxPool2d(stride) if stride > 1 else nn.Identity()


class ResNet12Block(nn.Module):
    """The few-shot ResNet-12 residual block: three 3x3 convolutions, a 1x1
    projection shortcut, LeakyReLU(0.1), then 2x2 max-pooling to downsample.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        stride (int): Max-pooling size; 1 keeps the resolution.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int):
        super().__init__()
        self.body = nn.Sequential(
            _conv_bn(in_channels, out_channels), nn.LeakyReLU(0.1),
            _conv_bn(out_channels, out_channels), nn.LeakyReLU(0.1),
            _conv_bn(out_channels, out_channels))
        self.shortcut = _conv_bn(in_channels, out_channels, kernel_size=1)
        self.pool = _pool(stride)

    def forward(self, x: Tensor) -> Tensor:
        return self.pool(F.leaky_relu(self.body(x) + self.shortcut(x), 0.1))


def resnet12_stage(in_channels: int, out_channels: int,
                   stride: int) -> nn.Module:
    return nn.Sequential(ResNet12Block(in_channels, out_channels, stride))


def conv4_stage(in_channels: int, out_channels: int, stride: int) -> nn.Module:
    """Conv-4 stage: 3x3 convolution, batch norm, ReLU, max-pooling."""
    return nn.Sequential(_conv_bn(in_channels, out_channels), nn.ReLU(),
                         _pool(stride))


def resnet18_stage(in_channels: int, out_channels: int,
                   stride: int) -> nn.Module:
    """Two torchvision basic blocks; the first one downsamples by striding."""
    shortcut = None
    if stride != 1 or in_channels != out_channels:
        shortcut = _conv_bn(in_channels, out_channels, 1, stride)
    return nn.Sequential(
        BasicBlock(in_channels, out_channels, stride, shortcut),
        BasicBlock(out_channels, out_channels))


def imagenet_stem(in_channels: int, out_channels: int) -> nn.Module:
    """The ResNet stem: 7x7 stride-2 convolution and 3x3 stride-2 pooling."""
    return nn.Sequential(_conv_bn(in_channels, out_channels, 7, 2), nn.ReLU(),
                         nn.MaxPool2d(3, 2, 1))


class Architecture(NamedTuple):
    """How to build one backbone.

    Attributes:
        make_stage: ``(in_channels, out_channels, stride) -> module``.
        widths: default output channels of the four stages.
        strides: resolution reduction of the four stages (low resolution).
        make_stem: ``(in_channels, out_channels) -> module`` or None.
    """
    make_stage: Callable[[int, int, int], nn.Module]
    widths: Sequence[int]
    strides: Sequence[int]
    make_stem: Optional[Callable[[int, int], nn.Module]] = None


ARCHITECTURES = {
    'resnet12': Architecture(resnet12_stage, (64, 160, 320, 640),
                             (2, 2, 2, 2)),
    'conv4': Architecture(conv4_stage, (64, 64, 64, 64), (2, 2, 2, 2)),
    'resnet18': Architecture(resnet18_stage, (64, 128, 256, 512),
                             (1, 2, 2, 2), imagenet_stem),
}


@reject_unknown_kwargs
class FewShotBackbone(nn.Module):
    """A four-stage embedding network that returns its last feature map.

    Args:
        arch (str): One of ``'resnet12'`` (the standard few-shot ResNet-12,
            channels 64/160/320/640), ``'conv4'`` or ``'resnet18'``.
            Defaults to ``'resnet12'``.
        widths (Sequence[int], optional): Output channels of the four
            stages; None uses the architecture's standard widths. Tiny widths
            (e.g. 8/16/32/64) make fast tests.
        high_resolution (bool): Keep the resolution in ``layer3`` and
            ``layer4`` (no pooling for ResNet-12 and Conv-4, stride 1 for
            ResNet-18: the backbone families' surgery). Defaults to False.
        in_channels (int): Image channels (1 for Omniglot). Defaults to 3.
        drop_rate (float): DropBlock rate at the end of the stages
            in ``dropblock_stages``; 0 (the default) adds no DropBlock, so the
            network and its checkpoints are as without the option. The
            usual ResNet-12 recipe is 0.1 with blocks of 5 in layer3 and
            layer4.
        dropblock_size (int): Side of the dropped blocks. Defaults to 5.
        dropblock_steps (int): Training passes over which the rate rises
            linearly from 0 to ``drop_rate``; 0 (the default) starts at
            ``drop_rate``.
        dropblock_stages (Sequence[str]): Stages followed by DropBlock.
            Defaults to ``('layer3', 'layer4')``.

    The output passes through a ReLU: BR-NPA's cosine similarities assume
    non-negative features (spec section 1), and the ResNet-12 blocks end with
    a LeakyReLU.
    """

    def __init__(self,
                 arch: str = 'resnet12',
                 widths: Optional[Sequence[int]] = None,
                 high_resolution: bool = False,
                 in_channels: int = 3,
                 drop_rate: float = 0.0,
                 dropblock_size: int = 5,
                 dropblock_steps: int = 0,
                 dropblock_stages: Sequence[str] = ('layer3', 'layer4')):
        super().__init__()
        if arch not in ARCHITECTURES:
            raise ValueError(f'arch must be one of {sorted(ARCHITECTURES)}, '
                             f'got {arch!r}')
        spec = ARCHITECTURES[arch]
        widths = tuple(spec.widths if widths is None else widths)
        if len(widths) != 4 or not all(
                isinstance(w, int) and w > 0 for w in widths):
            raise ValueError('widths must be four positive integers (one per '
                             f'stage, e.g. {tuple(spec.widths)}), got '
                             f'{widths!r}')
        if not isinstance(in_channels, int) or in_channels < 1:
            raise ValueError('in_channels must be a positive integer (3 for '
                             f'RGB, 1 for Omniglot), got {in_channels!r}')
        stages = [f'layer{index + 1}' for index in range(4)]
        unknown = [name for name in dropblock_stages if name not in stages]
        if isinstance(dropblock_stages, str) or unknown:
            raise ValueError(f'dropblock_stages must be a sequence of stage '
                             f'names among {stages}, got '
                             f'{dropblock_stages!r}')
        # Checked once even when no stage gets one.
        DropBlock(drop_rate, dropblock_size, dropblock_steps)
        self.arch = arch
        self.in_channels = in_channels
        self.high_resolution = high_resolution
        self.out_channels = widths[-1]
        if spec.make_stem is None:
            self.stem = nn.Identity()
            channels = in_channels
        else:
            self.stem = spec.make_stem(in_channels, widths[0])
            channels = widths[0]
        for index, (width, stride) in enumerate(zip(widths, spec.strides)):
            name = f'layer{index + 1}'
            dropblock = None
            if drop_rate > 0 and name in dropblock_stages:
                dropblock = DropBlock(drop_rate, dropblock_size,
                                      dropblock_steps)
            self.add_module(name, with_dropblock(
                spec.make_stage(channels, width, stride), dropblock))
            channels = width
        if high_resolution:
            to_high_resolution(self)

    def forward(self, x: Tensor) -> Tensor:
        x = self.stem(x)
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return F.relu(x)
