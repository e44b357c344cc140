"""Few-shot backbones from a config: a name, an import path, a dict or a
module.

:func:`build_backbone` builds one of :data:`~.backbones.ARCHITECTURES`, or
any other network (from an import path such as
``'learn2learn.vision.models.ResNet12Backbone'``), which it cuts at its
feature map with :class:`~.feature_map.FeatureMapBackbone`.
"""
import importlib
from typing import Any, Dict, Optional, Sequence, Union

from torch import nn

from ..backbones import to_high_resolution
from ..core.checks import check_kwargs, close_names
from .backbones import ARCHITECTURES, FewShotBackbone
from .feature_map import FeatureMapBackbone


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
            ``high_resolution`` it is first converted by the registered
            backbone family that recognises it
            (:func:`brnpa_plugins.backbones.to_high_resolution`: learn2learn's
            ResNet-12 is in the ``pooling`` family).
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
        try:
            network = to_high_resolution(network)
        except ValueError as error:
            raise ValueError(
                f'model.high_resolution=True: cannot make '
                f'{type(network).__name__} high-resolution: {error} Or set '
                'model.high_resolution=False to keep the network as it is.'
            ) from None
    return FeatureMapBackbone(network, feature_layer, in_channels)
