"""The high-resolution form of any backbone, as an mmpretrain config asks.

In a config::

    backbone=dict(
        type='HighResolutionBackbone',
        backbone=dict(type='ConvNeXt', arch='tiny', out_indices=(3, ),
                      gap_before_final_norm=False,
                      init_cfg=dict(type='Pretrained', checkpoint=URL,
                                    prefix='backbone')))

builds the inner backbone as usual and converts it in place with
:func:`brnpa_plugins.backbones.to_high_resolution` (the family a plugin
registered for it). What comes back is the inner backbone itself, so its
parameters keep their names: the same checkpoints load into the standard and
the high-resolution form, and its own ``init_cfg`` loads pretrained weights
after the conversion.

``type='WithoutFinalNorm'`` works the same way and removes the normalisation
layer that ends the backbone (:func:`brnpa_plugins.backbones.remove_final_norm`:
``norm3`` of a ConvNeXt or Swin, ``ln1`` of a ViT), so that BR-NPA groups the
last stage's residual stream, whose norm varies from place to place; the two
nest (``WithoutFinalNorm(backbone=dict(type='HighResolutionBackbone', ...))``).
Checkpoints of the standard form still load; their final-norm weights are
left unused.
"""
from typing import Optional, Sequence

from torch import nn

from mmpretrain.registry import MODELS

from ..core.checks import check_kwargs
from ..backbones import remove_final_norm, to_high_resolution


def build_high_resolution_backbone(backbone: dict,
                                   stages: Optional[Sequence] = None
                                   ) -> nn.Module:
    """Build ``backbone`` and make it high-resolution.

    Args:
        backbone (dict): The config of the backbone, as it would be written
            for the standard form.
        stages (Sequence, optional): The stages to run at full resolution,
            as the family names them (``['layer3', 'layer4']`` for a ResNet,
            stage indices for ConvNeXt and Swin); None for the family's
            high-resolution form.

    Returns:
        nn.Module: the converted backbone.
    """
    return _build_and_convert(
        'HighResolutionBackbone', backbone,
        lambda model: to_high_resolution(model, stages))


def _build_and_convert(owner: str, backbone: dict, convert) -> nn.Module:
    """Build the backbone config ``backbone`` and return ``convert`` of it;
    errors name ``owner`` (the config type) and the backbone's type."""
    if not isinstance(backbone, dict) or 'type' not in backbone:
        raise ValueError(
            f'{owner}: backbone must be the config dict of the backbone to '
            "convert, e.g. backbone=dict(type='ConvNeXt', ...); got "
            f'{backbone!r}.')
    model = MODELS.build(backbone)
    try:
        return convert(model)
    except ValueError as error:
        raise ValueError(f'{owner} (backbone.type={backbone["type"]!r}): '
                         f'{error}') from None


@MODELS.register_module(name='HighResolutionBackbone')
def _high_resolution_backbone(**kwargs) -> nn.Module:
    check_kwargs(build_high_resolution_backbone, kwargs,
                 owner='HighResolutionBackbone')
    return build_high_resolution_backbone(**kwargs)


def build_backbone_without_final_norm(backbone: dict) -> nn.Module:
    """Build ``backbone`` and replace its final normalisation layer by an
    identity (:func:`~brnpa_plugins.plugins.remove_final_norm`)."""
    return _build_and_convert('WithoutFinalNorm', backbone,
                              remove_final_norm)


@MODELS.register_module(name='WithoutFinalNorm')
def _backbone_without_final_norm(**kwargs) -> nn.Module:
    check_kwargs(build_backbone_without_final_norm, kwargs,
                 owner='WithoutFinalNorm')
    return build_backbone_without_final_norm(**kwargs)
