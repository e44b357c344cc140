"""Surgery for backbones that downsample with patchifying convolutions.

ConvNeXt, vision transformers and Swin cut their input into patches with a
convolution whose kernel equals its stride. :func:`remove_patch_stride` runs
such a convolution at stride 1 (same size, same weights),
:func:`overlap_patches` halves a patch embedding's stride, and
:func:`resize_grid_embedding` interpolates a position embedding to the finer
grid. None adds a weight, so checkpoints of the standard form still load.
"""
from typing import Sequence

import torch
from torch import Tensor, nn


class TrailingPadConv2d(nn.Conv2d):
    """A stride-1 convolution that pads ``dilation * (kernel - 1)`` zeros
    after the input (bottom and right) only, so that it keeps the input size.

    Made by :func:`remove_patch_stride` from a patchifying convolution
    (kernel == stride, no padding). Its output at the even rows and columns
    is the original strided output: out[2j] = sum_t w_t x[2j + t], which is
    what the strided convolution computes for its output j. Symmetric
    padding cannot keep the size for an even kernel (a 2 x 2 kernel with
    padding 1 gives one pixel more), and dilation would shift every output
    away from the standard grid.
    """

    def forward(self, x):
        pad_h = self.dilation[0] * (self.kernel_size[0] - 1)
        pad_w = self.dilation[1] * (self.kernel_size[1] - 1)
        return super().forward(nn.functional.pad(x, (0, pad_w, 0, pad_h)))


def check_stage_indices(stages, last: int, family: str,
                        meaning: str) -> tuple:
    """``stages`` (an int or a sequence) as a tuple of indices 1..``last``.

    Raises:
        ValueError: naming ``family``, the bad index and what the indices
            mean (``meaning``, e.g. 'the stages after a patch merging').
    """
    stages = (stages, ) if isinstance(stages, int) else tuple(stages)
    for index in stages:
        if isinstance(index, bool) or not isinstance(index, int) or \
                not 1 <= index <= last:
            raise ValueError(
                f'{family} high resolution: stages must be indices from 1 to '
                f'{last} ({meaning}), got {index!r} in stages={stages!r}.')
    return stages


def remove_patch_stride(conv: nn.Conv2d) -> TrailingPadConv2d:
    """The same convolution (the same parameters) at stride 1, same size.

    Args:
        conv: a patchifying convolution: stride == kernel size, no padding,
            e.g. ConvNeXt's 2 x 2, stride-2 downsampling convolution.

    Returns:
        A :class:`TrailingPadConv2d` sharing ``conv``'s weight and bias, so
        state dicts of the strided form load into it unchanged.
    """
    if not isinstance(conv, nn.Conv2d):
        raise TypeError(f'remove_patch_stride expects an nn.Conv2d, got '
                        f'{type(conv).__name__}')
    if conv.stride != conv.kernel_size or conv.padding != (0, 0) or \
            conv.dilation != (1, 1):
        raise ValueError(
            'remove_patch_stride expects a patchifying convolution (stride '
            'equal to the kernel size, no padding, no dilation); got '
            f'kernel_size={conv.kernel_size}, stride={conv.stride}, '
            f'padding={conv.padding}, dilation={conv.dilation}.')
    unstrided = TrailingPadConv2d(
        conv.in_channels, conv.out_channels, conv.kernel_size, stride=1,
        groups=conv.groups, bias=conv.bias is not None,
        device=conv.weight.device, dtype=conv.weight.dtype)
    unstrided.weight = conv.weight
    unstrided.bias = conv.bias
    return unstrided


def overlap_patches(conv: nn.Conv2d) -> nn.Conv2d:
    """Halve the stride of a patch-embedding convolution, in place.

    A patch size P (kernel == stride == P) becomes stride P / 2 with P / 4
    zeros of padding on every side: on an input whose side is a multiple of
    P the grid side doubles exactly ((H + P/2 - P) / (P/2) + 1 = 2H / P), and
    each overlapping patch is centred on its own P/2 x P/2 cell. The weights
    are unchanged.

    Args:
        conv: the patch embedding's convolution, with a square kernel that is
            a multiple of 4.

    Returns:
        The same convolution, for chaining.
    """
    patch = conv.kernel_size[0]
    if conv.kernel_size != (patch, patch) or conv.stride != conv.kernel_size \
            or conv.padding != (0, 0) or patch % 4 != 0:
        raise ValueError(
            'overlap_patches expects non-overlapping square patches whose '
            'size is a multiple of 4 (kernel == stride, e.g. 16 or 8, no '
            f'padding); got kernel_size={conv.kernel_size}, stride='
            f'{conv.stride}, padding={conv.padding}. Other patch sizes have '
            'no symmetric padding that doubles the grid exactly.')
    conv.stride = (patch // 2, patch // 2)
    conv.padding = (patch // 4, patch // 4)
    return conv


def resize_grid_embedding(embedding: Tensor, old_grid: Sequence[int],
                          new_grid: Sequence[int], num_extra_tokens: int = 0,
                          mode: str = 'bicubic') -> Tensor:
    """Interpolate a 1 x (extra + H*W) x C position embedding to a new grid.

    Args:
        embedding: the embedding; its first ``num_extra_tokens`` rows (class
            and distillation tokens) are kept as they are.
        old_grid: (H, W) the embedding was made for.
        new_grid: (H', W') to interpolate to.
        num_extra_tokens: how many leading tokens are not on the grid.
        mode: ``torch.nn.functional.interpolate`` mode.

    Returns:
        A 1 x (extra + H'*W') x C tensor.
    """
    old_h, old_w = old_grid
    new_h, new_w = new_grid
    if embedding.dim() != 3 or \
            embedding.shape[1] != num_extra_tokens + old_h * old_w:
        raise ValueError(
            f'resize_grid_embedding: an embedding of shape '
            f'{tuple(embedding.shape)} does not hold {num_extra_tokens} extra '
            f'tokens and a {old_h} x {old_w} grid; pass the grid it was made '
            'for as old_grid.')
    extra = embedding[:, :num_extra_tokens]
    grid = embedding[:, num_extra_tokens:].reshape(1, old_h, old_w, -1)
    grid = nn.functional.interpolate(
        grid.permute(0, 3, 1, 2).float(), size=(new_h, new_w), mode=mode,
        align_corners=False).to(embedding.dtype)
    return torch.cat([extra, grid.flatten(2).transpose(1, 2)], dim=1)
