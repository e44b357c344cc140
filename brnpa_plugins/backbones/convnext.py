"""The ConvNeXt family: stride surgery for mmpretrain's ConvNeXt.

ConvNeXt downsamples before stages 1, 2 and 3 with ``downsample_layers[i]``
= LayerNorm + Conv2d(kernel 2, stride 2). The high-resolution form runs the
convolutions before stages 2 and 3 at stride 1 (total stride 8 instead of
32, as the ResNet form: 56 x 56 maps at 448 px), padded by one zero row and
column after the input so that each keeps its input size (see
:class:`brnpa_plugins.backbones.patches.TrailingPadConv2d`). The parameters are
the same ones, under the same names.
"""
from typing import Sequence

from torch import nn

from ..plugins.hookspecs import hookimpl
from .family import BackboneFamily, FeatureLayer, last_output_stage
from .patches import (TrailingPadConv2d, check_stage_indices,
                      remove_patch_stride)

#: Stages whose downsampling the high-resolution form removes.
CONVNEXT_HIGH_RESOLUTION_STAGES = (2, 3)


def is_convnext(model: nn.Module) -> bool:
    """A ``stages`` list, each after a ``downsample_layers`` entry, those
    after the stem ending in a convolution (mmpretrain's ConvNeXt, v1, v2)."""
    stages = getattr(model, 'stages', None)
    downsample = getattr(model, 'downsample_layers', None)
    return (isinstance(stages, nn.ModuleList)
            and isinstance(downsample, nn.ModuleList)
            and len(stages) == len(downsample) > 1
            and all(isinstance(layer, nn.Sequential)
                    and isinstance(layer[-1], nn.Conv2d)
                    for layer in downsample[1:]))


def make_convnext_high_resolution(
        model: nn.Module,
        stages: Sequence[int] = CONVNEXT_HIGH_RESOLUTION_STAGES
) -> nn.Module:
    """Run the downsampling before the given stages at stride 1, in place.

    Args:
        model: an mmpretrain ``ConvNeXt``.
        stages: indices of the stages (1 to len(stages) - 1; 0 is the stem)
            whose downsampling convolution loses its stride.

    Returns:
        The same model, for chaining.
    """
    stages = check_stage_indices(
        stages, len(model.downsample_layers) - 1, 'ConvNeXt',
        'the stages after a 2 x 2 downsampling; 0 is the stem')
    for index in stages:
        layer = model.downsample_layers[index]
        if isinstance(layer[-1], TrailingPadConv2d):
            raise ValueError(
                f'ConvNeXt stage {index} already runs at the resolution of '
                'the stage before it; leave it out of stages.')
        layer[-1] = remove_patch_stride(layer[-1])
    return model


def convnext_feature_layer(model: nn.Module) -> FeatureLayer:
    """The final norm of the last output stage (what a neck reads), or the
    stage itself when the model pools before that norm."""
    last = last_output_stage(model, len(model.stages))
    if getattr(model, 'gap_before_final_norm', True):
        return FeatureLayer(model.stages[last])
    return FeatureLayer(getattr(model, f'norm{last}'))


@hookimpl
def brnpa_register_backbones(register):
    register(BackboneFamily(
        name='convnext',
        matches=is_convnext,
        convert=make_convnext_high_resolution,
        feature_layer=convnext_feature_layer,
        description='mmpretrain ConvNeXt (v1, v2): the 2 x 2 downsampling '
        'before stages 2 and 3 at stride 1'))
