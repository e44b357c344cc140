"""Few-shot embedding networks: ResNet-12, Conv-4, ResNet-18 or any module.

All three are built by :class:`FewShotBackbone`: an optional stem followed by
four stages named ``layer1`` ... ``layer4``, each of which may halve the
resolution. Only how a stage is made differs between architectures, so the
high-resolution option is the same for all of them: the last two stages keep
their input resolution (strides (2, 2, 1, 1) instead of (2, 2, 2, 2), spec
sections 1 and 6). The weights do not change shape, so a low-resolution
checkpoint loads into the high-resolution network (the distillation teacher
and its student share one architecture).

:class:`DropBlock` (Ghiasi et al., 2018) can follow the blocks of chosen
stages; it is off unless ``drop_rate`` > 0. :func:`build_backbone` builds a
backbone from a name, an import path, a ``dict(type=..., ...)`` or a ready
module; any other network is wrapped in :class:`FeatureMapBackbone`, which
returns the feature map of one of its layers.
"""
import importlib
from typing import Any, Callable, Dict, NamedTuple, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.models.resnet import BasicBlock

from ..core.checks import check_kwargs, close_names, reject_unknown_kwargs
from ..core.highres import HIGH_RESOLUTION_STAGES


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
            ResNet-18). Defaults to False.
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
            if high_resolution and name in HIGH_RESOLUTION_STAGES:
                stride = 1
            dropblock = None
            if drop_rate > 0 and name in dropblock_stages:
                dropblock = DropBlock(drop_rate, dropblock_size,
                                      dropblock_steps)
            self.add_module(name, with_dropblock(
                spec.make_stage(channels, width, stride), dropblock))
            channels = width

    def forward(self, x: Tensor) -> Tensor:
        x = self.stem(x)
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return F.relu(x)


class _FeatureMapReady(Exception):
    """Carries the feature map out of the wrapped network's forward."""

    def __init__(self, features: Tensor):
        super().__init__()
        self.features = features


def first_conv_channels(module: nn.Module) -> Optional[int]:
    """Input channels of the first convolution of ``module`` (None: none)."""
    for layer in module.modules():
        if isinstance(layer, nn.Conv2d):
            return layer.in_channels
    return None


class FeatureMapBackbone(nn.Module):
    """Any network, cut at the layer whose output is the feature map.

    BR-NPA groups a B x C x H x W map into parts, so a network that ends in
    global pooling and a flat vector (a torchvision ResNet, learn2learn's
    ``ResNet12Backbone``) is run only up to ``feature_layer``: its forward
    stops there and the later layers (pooling, classifier) are not run.
    The output passes through a ReLU, as in :class:`FewShotBackbone`.

    Args:
        network (nn.Module): The network.
        feature_layer (str, optional): Dotted name of the submodule whose
            output is the map. None uses ``layer4`` when the network has
            one (torchvision-style ResNets, learn2learn's ResNet-12), else
            the network's own output.
        in_channels (int, optional): Image channels; None reads them from
            the first convolution (3 without one). A value that disagrees
            with that convolution is an error.
        probe_size (int): Side of the blank images run once to find the
            output channels. Defaults to 64.
    """

    def __init__(self, network: nn.Module, feature_layer: Optional[str] = None,
                 in_channels: Optional[int] = None, probe_size: int = 64):
        super().__init__()
        name = type(network).__name__
        conv_channels = first_conv_channels(network)
        if in_channels is not None and conv_channels is not None and \
                in_channels != conv_channels:
            raise ValueError(
                f'model.in_channels={in_channels} (the images have '
                f'{in_channels} channels) but the first convolution of the '
                f'backbone {name} takes {conv_channels}; build the backbone '
                f'for {in_channels}-channel images (e.g. channels='
                f'{in_channels} for learn2learn models, or a first '
                'convolution with that many inputs).')
        self.in_channels = in_channels or conv_channels or 3
        self.network = network
        modules = dict(network.named_modules())
        if feature_layer is None and 'layer4' in modules:
            feature_layer = 'layer4'
        if feature_layer is not None and feature_layer not in modules:
            children = [n for n, _ in network.named_children()]
            hint = close_names(feature_layer, modules)
            raise ValueError(
                f'model.feature_layer={feature_layer!r}: {name} has no such '
                f'submodule' + (f' (did you mean {hint[0]!r}?)' if hint
                                else '') + f'; its children are {children}')
        self.feature_layer = feature_layer
        self._hook = None
        if feature_layer is not None:
            self._hook = modules[feature_layer].register_forward_hook(
                self._stop)
        was_training = network.training
        network.eval()
        with torch.no_grad():
            parameter = next(network.parameters(), None)
            probe = torch.zeros(2, self.in_channels, probe_size, probe_size,
                                device=None if parameter is None
                                else parameter.device)
            features = self._features(probe)
        network.train(was_training)
        self.out_channels = features.shape[1]

    @staticmethod
    def _stop(module, inputs, output):
        raise _FeatureMapReady(output)

    def extra_repr(self) -> str:
        return f'feature_layer={self.feature_layer!r}'

    def _features(self, x: Tensor) -> Tensor:
        try:
            output = self.network(x)
        except _FeatureMapReady as ready:
            output = ready.features
        if not isinstance(output, Tensor) or output.dim() != 4:
            shape = tuple(output.shape) if isinstance(output, Tensor) else \
                type(output).__name__
            where = f'its layer {self.feature_layer!r}' if \
                self.feature_layer else 'it'
            children = [n for n, _ in self.network.named_children()]
            raise ValueError(
                f'backbone {type(self.network).__name__}: {where} returns '
                f'{shape}, not a B x C x H x W feature map; BR-NPA groups '
                'the positions of a map into parts. Set model.feature_layer '
                'to the submodule whose output is the map (its children '
                f'are {children}).')
        return output

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self._features(x))


#: What ``model.backbone`` may be.
BackboneSpec = Union[str, Dict[str, Any], nn.Module]


def import_object(path: str, key: str = 'model.backbone'):
    """``'package.module.Name'`` -> the object, or an error naming ``key``."""
    module_name, _, attribute = path.rpartition('.')
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ValueError(f'{key}: cannot import {module_name!r} for '
                         f'{path!r} ({error}); give an import path such as '
                         "'learn2learn.vision.models.ResNet12Backbone'"
                         ) from error
    if not hasattr(module, attribute):
        hint = close_names(attribute, [n for n in dir(module)
                                       if not n.startswith('_')])
        raise ValueError(f'{key}: {module_name} has no {attribute!r}' + (
            f' (did you mean {hint[0]!r}?)' if hint else ''))
    return getattr(module, attribute)


def _stage_blocks(model: nn.Module, name: str) -> list:
    stage = getattr(model, name, None)
    return list(stage.children()) if isinstance(stage, nn.Sequential) else []


def is_pooling_resnet12(model: nn.Module) -> bool:
    """Stages ``layer1``..``layer4`` whose blocks end in a ``maxpool``
    (learn2learn's ``ResNet12Backbone``)."""
    return all(
        _stage_blocks(model, name) and all(
            isinstance(getattr(block, 'maxpool', None), nn.MaxPool2d)
            for block in _stage_blocks(model, name))
        for name in ('layer1', 'layer2', 'layer3', 'layer4'))


def pooling_resnet12_high_resolution(
        model: nn.Module,
        stages: Sequence[str] = HIGH_RESOLUTION_STAGES) -> nn.Module:
    """Replace the max-pooling of the blocks of ``stages`` by the identity,
    in place (the convolutions of such a ResNet-12 all have stride 1)."""
    for name in stages:
        for block in _stage_blocks(model, name):
            block.maxpool = nn.Identity()
    return model


def _high_resolution(network: nn.Module) -> nn.Module:
    """Stride surgery through the plugin layer's backbone registry.

    The registered families that recognise the network are asked in
    registration order; one whose surgery does not apply (it raises a
    ValueError) passes it on to the next. ResNet-12s that pool at the end of
    each block (learn2learn's) look like torchvision-style ResNets but have
    no stride to change: when no registered family converts one, its pooling
    in ``layer3`` and ``layer4`` is removed here.
    """
    from ..plugins.backbones import high_resolution_backbones
    families = high_resolution_backbones()
    refusals = []
    for family in families.values():
        if family.matches(network):
            try:
                return family.convert(network)
            except ValueError as error:
                refusals.append(f'{family.name!r}: {error}')
    if is_pooling_resnet12(network):
        return pooling_resnet12_high_resolution(network)
    name = type(network).__name__
    why = ('; '.join(refusals) if refusals else
           f'no registered family recognises {name} (known: '
           f'{sorted(families)})')
    raise ValueError(
        f'model.high_resolution=True: cannot make {name} high-resolution: '
        f'{why}. Register its stride surgery with the '
        '`brnpa_register_backbones` hook (docs/plugins.md), or set '
        'model.high_resolution=False to keep the network as it is.')


def build_backbone(spec: BackboneSpec,
                   widths: Optional[Sequence[int]] = None,
                   high_resolution: bool = False,
                   in_channels: Optional[int] = None,
                   feature_layer: Optional[str] = None) -> nn.Module:
    """A backbone that returns a non-negative B x C x H x W feature map.

    Args:
        spec: One of

            - a name of :data:`ARCHITECTURES` (``'resnet12'``, ``'conv4'``,
              ``'resnet18'``), built by :class:`FewShotBackbone`;
            - an import path (``'torchvision.models.resnet18'``) of a class
              or function that returns an ``nn.Module``;
            - ``dict(type=<name or import path>, **arguments)``; for a name,
              the arguments are :class:`FewShotBackbone`'s (``drop_rate``,
              ...) and override ``widths``, ``high_resolution`` and
              ``in_channels``;
            - a module.

            A network that is not a :class:`FewShotBackbone` is cut at its
            feature map by :class:`FeatureMapBackbone`; with
            ``high_resolution`` it is first converted by the first family of
            the plugin layer's backbone registry that recognises and
            converts it (``brnpa_register_backbones``), or, for a ResNet-12
            that pools in its blocks, by :func:`is_pooling_resnet12`'s
            surgery.
        widths: Stage widths of a named architecture.
        high_resolution: Keep the resolution of the last two stages.
        in_channels: Image channels; None: 3, or what the network takes.
        feature_layer: For other networks, the submodule whose output is the
            map (see :class:`FeatureMapBackbone`).
    """
    if isinstance(spec, FewShotBackbone):
        return spec
    if isinstance(spec, nn.Module):
        network = spec
    else:
        if isinstance(spec, str):
            kind, options = spec, {}
        elif isinstance(spec, dict) or hasattr(spec, 'items'):
            options = dict(spec)
            kind = options.pop('type', None)
        else:
            raise TypeError('model.backbone must be a name, an import path, '
                            'dict(type=..., ...) or an nn.Module, got '
                            f'{type(spec).__name__}')
        if not isinstance(kind, str) or not kind:
            raise ValueError('model.backbone=dict(...) needs type=<a name '
                             f'among {sorted(ARCHITECTURES)} or an import '
                             "path such as 'learn2learn.vision.models."
                             f"ResNet12Backbone'>, got type={kind!r}")
        if kind in ARCHITECTURES:
            arguments = dict(widths=widths, high_resolution=high_resolution,
                             in_channels=in_channels or 3)
            arguments.update(options)
            check_kwargs(FewShotBackbone, arguments,
                         f'model.backbone {kind}')
            return FewShotBackbone(kind, **arguments)
        if '.' not in kind:
            hint = close_names(kind, ARCHITECTURES)
            raise ValueError(
                f'model.backbone: unknown backbone {kind!r}' +
                (f' (did you mean {hint[0]!r}?)' if hint else '') +
                f'; use one of {sorted(ARCHITECTURES)}, an import path such '
                "as 'torchvision.models.resnet18', or dict(type=..., ...)")
        target = import_object(kind)
        if not callable(target):
            raise TypeError(f'model.backbone: {kind} is not callable')
        check_kwargs(target, options, f'model.backbone {kind}')
        network = target(**options)
        if not isinstance(network, nn.Module):
            raise TypeError(f'model.backbone: {kind}(...) returned '
                            f'{type(network).__name__}, not an nn.Module')
    if widths is not None:
        raise ValueError(
            'model.widths only applies to the built-in backbones '
            f'{sorted(ARCHITECTURES)}; set the widths of '
            f'{type(network).__name__} through its own arguments')
    if high_resolution:
        network = _high_resolution(network)
    return FeatureMapBackbone(network, feature_layer, in_channels)
