"""Stride surgery: raise the resolution of a ResNet's last feature maps.

BR-NPA obtains high-resolution maps by setting the stride of the first block
of the chosen stages to 1 (spec section 1): no dilation, no new weights, so
pretrained checkpoints still load. Other backbone families (ConvNeXt, vision
transformers, Swin, pooling ResNet-12s) and the registry that picks the
surgery for a model are in :mod:`brnpa_plugins.backbones`.
"""
from typing import Sequence

from torch import nn

#: torchvision (and torchreid) ResNets name their four stages like this.
RESNET_STAGES = ('layer1', 'layer2', 'layer3', 'layer4')
#: The stages whose first block gets stride 1 in the high-resolution form
#: (spec section 1): strides (1, 2, 2, 2) become (1, 2, 1, 1).
HIGH_RESOLUTION_STAGES = ('layer3', 'layer4')


def _first_block(stage: nn.Module) -> nn.Module:
    if isinstance(stage, nn.Sequential) and len(stage) > 0:
        return stage[0]
    return stage


def set_stage_stride(stage: nn.Module, stride: int = 1) -> int:
    """Set the stride of every strided convolution in a stage's first block.

    This covers the 3x3 (or 1x1) convolution that downsamples in torchvision's
    BasicBlock and Bottleneck and the 1x1 convolution of the shortcut.

    Returns:
        int: how many convolutions were changed.
    """
    changed = 0
    for module in _first_block(stage).modules():
        if isinstance(module, nn.Conv2d) and module.stride != (1, 1):
            module.stride = (stride, stride)
            changed += 1
    return changed


def make_high_resolution(model: nn.Module,
                         stages: Sequence[str] = HIGH_RESOLUTION_STAGES
                         ) -> nn.Module:
    """Turn a torchvision-style ResNet into its high-resolution form in place.

    With the default ``stages``, a ResNet-50 at 448 px gives 2048 x 56 x 56
    features instead of 2048 x 14 x 14 (strides (1, 2, 1, 1)).

    Args:
        model: a module with ResNet stages as attributes (``layer1`` ...).
        stages: names of the stages whose first block gets stride 1.

    Returns:
        The same model, for chaining.
    """
    if isinstance(stages, str):
        stages = (stages, )
    for name in stages:
        stage = getattr(model, name, None)
        if not isinstance(stage, nn.Module):
            available = [n for n, _ in model.named_children()]
            raise ValueError(
                f'{type(model).__name__} has no stage {name!r} to make '
                f'high-resolution; its children are {available}. Pass the '
                'names of its ResNet stages as `stages`.')
        if set_stage_stride(stage, 1) == 0:
            raise ValueError(
                f'stage {name!r} of {type(model).__name__} has no strided '
                'convolution in its first block: it is already at full '
                'resolution or downsamples another way (e.g. pooling).')
    return model
