"""Built-in plugin: stride surgery for torchvision-style ResNets.

torchvision, torchreid and mmpretrain ResNets all name their stages
``layer1``..``layer4`` and downsample in the first block of a stage with
strided convolutions, which :func:`brnpa_plugins.core.make_high_resolution`
sets to stride 1.
"""
from torch import nn

from ...core import make_high_resolution
from ...core.highres import RESNET_STAGES
from ..backbones import FeatureLayer, HighResolutionBackbone
from ..hookspecs import hookimpl


def _pools(module: nn.Module) -> bool:
    return any(isinstance(m, (nn.AvgPool2d, nn.MaxPool2d))
               for m in module.modules())


def is_torchvision_style_resnet(model: nn.Module) -> bool:
    """Stages ``layer1``..``layer4`` whose shortcuts do not pool.

    ResNet-D variants (e.g. mmpretrain's ResNetV1d) downsample the shortcut
    by average pooling, which stride surgery would leave out of step with
    the main branch.
    """
    stages = [getattr(model, name, None) for name in RESNET_STAGES]
    if not all(isinstance(stage, nn.Sequential) and len(stage) > 0
               for stage in stages):
        return False
    shortcuts = [getattr(stage[0], 'downsample', None) for stage in stages]
    return not any(s is not None and _pools(s) for s in shortcuts)


def resnet_feature_layer(model: nn.Module) -> FeatureLayer:
    """The last output stage of an mmpretrain ResNet (``out_indices``),
    ``layer4`` of others."""
    names = getattr(model, 'res_layers', None)
    if names and hasattr(model, 'out_indices'):
        last = max(i % len(names) for i in model.out_indices)
        return FeatureLayer(getattr(model, names[last]))
    return FeatureLayer(model.layer4)


@hookimpl
def brnpa_register_backbones(register):
    register(HighResolutionBackbone(
        name='resnet',
        matches=is_torchvision_style_resnet,
        convert=make_high_resolution,
        feature_layer=resnet_feature_layer,
        description='torchvision-style ResNets (torchvision, torchreid, '
        'mmpretrain): layer3 and layer4 at stride 1'))
