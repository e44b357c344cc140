"""The pooling family: few-shot ResNet-12s and Conv-4s.

These networks (learn2learn's ``ResNet12Backbone``, this package's
``FewShotBackbone`` ResNet-12 and Conv-4) keep every convolution at stride 1
and halve the resolution with a 2 x 2 max-pooling at the end of each stage
(``layer1``..``layer4``). Their high-resolution form (spec section 6) drops
the pooling of ``layer3`` and ``layer4``; no weight changes.
"""
from typing import Sequence

from torch import nn

from ..core.highres import HIGH_RESOLUTION_STAGES, RESNET_STAGES
from ..plugins.hookspecs import hookimpl
from .family import BackboneFamily, FeatureLayer


def _poolings(module: nn.Module):
    """(parent, attribute name) of every ``nn.MaxPool2d`` below ``module``."""
    return [(parent, name) for parent in module.modules()
            for name, child in parent.named_children()
            if isinstance(child, nn.MaxPool2d)]


def downsamples_by_pooling(model: nn.Module) -> bool:
    """Stages ``layer1``..``layer4`` that each max-pool and hold no strided
    convolution."""
    for name in RESNET_STAGES:
        stage = getattr(model, name, None)
        if not isinstance(stage, nn.Module):
            return False
        if any(isinstance(m, nn.Conv2d) and m.stride != (1, 1)
               for m in stage.modules()):
            return False
        if not _poolings(stage) and name not in HIGH_RESOLUTION_STAGES:
            return False
    return True


def remove_stage_pooling(model: nn.Module,
                         stages: Sequence[str] = HIGH_RESOLUTION_STAGES
                         ) -> nn.Module:
    """Replace the max-pooling of ``stages`` by the identity, in place.

    Raises:
        ValueError: a stage does not exist or does not pool (already at
            full resolution).
    """
    if isinstance(stages, str):
        stages = (stages, )
    for name in stages:
        stage = getattr(model, name, None)
        if not isinstance(stage, nn.Module):
            raise ValueError(
                f'{type(model).__name__} has no stage {name!r}; its stages '
                f'are {list(RESNET_STAGES)}.')
        poolings = _poolings(stage)
        if not poolings:
            raise ValueError(
                f'stage {name!r} of {type(model).__name__} does not pool: it '
                'is already at full resolution; leave it out of stages.')
        for parent, attribute in poolings:
            setattr(parent, attribute, nn.Identity())
    return model


def pooling_feature_layer(model: nn.Module) -> FeatureLayer:
    """``layer4``, the last stage."""
    return FeatureLayer(model.layer4)


@hookimpl
def brnpa_register_backbones(register):
    register(BackboneFamily(
        name='pooling',
        matches=downsamples_by_pooling,
        convert=remove_stage_pooling,
        feature_layer=pooling_feature_layer,
        description='ResNet-12 and Conv-4 that downsample by max-pooling '
        "(learn2learn's, the few-shot ones): no pooling in layer3 and "
        'layer4'))
