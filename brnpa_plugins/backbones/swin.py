"""The Swin family: stride surgery for mmpretrain's Swin Transformer.

Swin halves the token grid at the end of every stage but the last with a
patch merging layer: an ``nn.Unfold`` of 2 x 2 tokens at stride 2, then a
linear reduction. The high-resolution form runs the last merging at stride
1, after one zero row and column at the bottom and right (as ConvNeXt's,
see :class:`brnpa_plugins.backbones.patches.TrailingPadConv2d`), so the last stage
works on a grid twice as fine with the same weights. Its windows keep their
size: Swin pads a grid the window does not divide, and the standard sizes
(7 x 7 windows on 7, 14 or 28 token sides at 224, 448 or 896 px; 12 on 12 or
24 for Swin-B at 384) divide the doubled grid too.
"""
from torch import nn

from ..plugins.hookspecs import hookimpl
from .family import BackboneFamily, FeatureLayer, last_output_stage
from .patches import check_stage_indices


def is_swin_transformer(model: nn.Module) -> bool:
    """``stages`` whose ``downsample`` is a patch merging with an unfold
    sampler (mmpretrain's SwinTransformer)."""
    stages = getattr(model, 'stages', None)
    if not isinstance(stages, nn.ModuleList) or len(stages) < 2:
        return False
    mergings = [getattr(stage, 'downsample', None) for stage in stages[:-1]]
    return all(isinstance(getattr(m, 'sampler', None), nn.Unfold)
               for m in mergings)


def make_swin_high_resolution(model: nn.Module, stages=None) -> nn.Module:
    """Run the last patch merging at stride 1, in place.

    Args:
        model: an mmpretrain ``SwinTransformer``.
        stages: indices of the stages to run at the resolution of the stage
            before them (1 to the last); None: the last stage only.

    Returns:
        The same model, for chaining.
    """
    last = len(model.stages) - 1
    stages = check_stage_indices(last if stages is None else stages, last,
                                 'Swin', 'the stages after a patch merging')
    for index in stages:
        merging = model.stages[index - 1].downsample
        sampler = merging.sampler
        size = nn.modules.utils._pair(sampler.kernel_size)
        if nn.modules.utils._pair(sampler.stride) != size or \
                nn.modules.utils._pair(sampler.padding) != (0, 0) or \
                nn.modules.utils._pair(sampler.dilation) != (1, 1):
            raise ValueError(
                f'Swin stage {index}: its patch merging is not a plain '
                f'{size} unfold at stride {size} (stride={sampler.stride}, '
                f'padding={sampler.padding}); convert a standard model only '
                'once.')
        # Replaces the 'corner' padding to a multiple of the stride: with
        # stride 1, kernel - 1 zeros after the input keep the grid size.
        merging.adaptive_padding = nn.ZeroPad2d((0, size[1] - 1, 0,
                                                 size[0] - 1))
        merging.sampler = nn.Unfold(size, dilation=(1, 1), padding=(0, 0),
                                    stride=(1, 1))
    return model


def swin_feature_layer(model: nn.Module) -> FeatureLayer:
    """The final norm of the last output stage: B x h * w x C tokens."""
    last = last_output_stage(model, len(model.stages))
    return FeatureLayer(getattr(model, f'norm{last}'), extra_tokens=0)


@hookimpl
def brnpa_register_backbones(register):
    register(BackboneFamily(
        name='swin',
        matches=is_swin_transformer,
        convert=make_swin_high_resolution,
        feature_layer=swin_feature_layer,
        description='mmpretrain SwinTransformer: the last patch merging at '
        'stride 1'))
