"""The ResNet family: stride surgery for torchvision-style ResNets.

torchvision, torchreid and mmpretrain ResNets all name their stages
``layer1``..``layer4``, build them of residual blocks with ``conv1`` and
``conv2`` convolutions, and downsample in the first block of a stage with
strided convolutions, which :func:`brnpa_plugins.core.make_high_resolution`
sets to stride 1.
"""
from torch import nn

from ..core.highres import RESNET_STAGES, make_high_resolution
from ..plugins.hookspecs import hookimpl
from .family import BackboneFamily, FeatureLayer, last_output_stage


def _stage_blocks(model: nn.Module):
    """The blocks of ``layer1``..``layer4``, or None when a stage is not a
    non-empty ``nn.Sequential``."""
    stages = [getattr(model, name, None) for name in RESNET_STAGES]
    if not all(isinstance(stage, nn.Sequential) and len(stage) > 0
               for stage in stages):
        return None
    return [list(stage) for stage in stages]


def _contains(module: nn.Module, kinds) -> bool:
    return any(isinstance(m, kinds) for m in module.modules())


def _strided(block: nn.Module) -> bool:
    return any(isinstance(m, nn.Conv2d) and m.stride != (1, 1)
               for m in block.modules())


def is_torchvision_style_resnet(model: nn.Module) -> bool:
    """Stages ``layer1``..``layer4`` of residual blocks (the first one with
    ``conv1`` and ``conv2``) that downsample by striding: ``layer2``, which the surgery
    never changes, starts with a strided convolution.

    Rejected: ResNet-D variants (e.g. mmpretrain's ResNetV1d), whose
    shortcut downsamples by average pooling, which stride surgery would
    leave out of step with the main branch; networks that downsample by
    max-pooling inside their stages (ResNet-12s: the ``pooling`` family);
    networks of other blocks (mmpretrain's MobileNetV2 also names its
    stages ``layer1``...).
    """
    stages = _stage_blocks(model)
    if stages is None:
        return False
    for blocks in stages:
        first = blocks[0]
        if not (isinstance(getattr(first, 'conv1', None), nn.Conv2d)
                and isinstance(getattr(first, 'conv2', None), nn.Conv2d)):
            return False
        if any(_contains(block, nn.MaxPool2d) for block in blocks):
            return False
        shortcut = getattr(first, 'downsample', None)
        if shortcut is not None and _contains(shortcut, (nn.AvgPool2d,
                                                         nn.MaxPool2d)):
            return False
    return _strided(stages[1][0])


def resnet_feature_layer(model: nn.Module) -> FeatureLayer:
    """The last output stage of an mmpretrain ResNet (``out_indices``),
    ``layer4`` of others."""
    names = getattr(model, 'res_layers', None)
    if names:
        return FeatureLayer(getattr(model, names[last_output_stage(
            model, len(names))]))
    return FeatureLayer(model.layer4)


@hookimpl
def brnpa_register_backbones(register):
    register(BackboneFamily(
        name='resnet',
        matches=is_torchvision_style_resnet,
        convert=make_high_resolution,
        feature_layer=resnet_feature_layer,
        description='torchvision-style ResNets (torchvision, torchreid, '
        'mmpretrain): layer3 and layer4 at stride 1'))
