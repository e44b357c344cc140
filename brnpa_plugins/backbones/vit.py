"""The ViT family: overlapping patches for mmpretrain's vision transformers.

``VisionTransformer`` and ``DistilledVisionTransformer`` (DeiT) cut the
image into P x P patches with one convolution (kernel == stride == P). The
high-resolution form keeps that convolution's weights and halves its stride
(:func:`brnpa_plugins.backbones.patches.overlap_patches`), so the token grid side
doubles, and interpolates the position embedding to the new grid. Standard
state dicts still load strictly: the transformer's own load hook resizes a
checkpoint's position embedding to ``patch_embed.init_out_size``, which the
surgery updates. With ``out_type='featmap'`` the backbone then gives
B x C x 2H x 2W maps.
"""
from torch import nn

from ..plugins.hookspecs import hookimpl
from .family import BackboneFamily, FeatureLayer, last_output_stage
from .patches import overlap_patches, resize_grid_embedding


def is_vision_transformer(model: nn.Module) -> bool:
    """A convolutional ``patch_embed``, a ``pos_embed`` on the token grid
    ``patch_resolution`` and ``layers`` (mmpretrain's ViT, DeiT)."""
    patch_embed = getattr(model, 'patch_embed', None)
    return (isinstance(getattr(patch_embed, 'projection', None), nn.Conv2d)
            and isinstance(getattr(model, 'pos_embed', None), nn.Parameter)
            and hasattr(model, 'patch_resolution')
            and hasattr(model, 'num_extra_tokens')
            and isinstance(getattr(model, 'layers', None), nn.ModuleList))


def make_vit_high_resolution(model: nn.Module, stages=None) -> nn.Module:
    """Halve the patch stride and resize the position embedding, in place.

    Args:
        model: an mmpretrain ``VisionTransformer`` (or DeiT).
        stages: must be None: a vision transformer has a single patch
            embedding and no stages to choose.

    Returns:
        The same model, for chaining.
    """
    name = type(model).__name__
    if stages is not None:
        raise ValueError(
            f'{name} has one patch embedding and no stages to choose: call '
            f'to_high_resolution without stages (got stages={stages!r}).')
    projection = model.patch_embed.projection
    if projection.stride != projection.kernel_size:
        raise ValueError(
            f'{name}: the patch embedding already overlaps (kernel_size='
            f'{projection.kernel_size}, stride={projection.stride}); convert '
            'a standard model only once.')
    try:
        overlap_patches(projection)
    except ValueError as error:
        raise ValueError(f'{name}: {error}') from None
    old_grid = tuple(model.patch_resolution)
    new_grid = (2 * old_grid[0], 2 * old_grid[1])
    model.patch_embed.init_out_size = new_grid
    model.patch_resolution = new_grid
    old = model.pos_embed
    model.pos_embed = nn.Parameter(
        resize_grid_embedding(old.data, old_grid, new_grid,
                              model.num_extra_tokens,
                              getattr(model, 'interpolate_mode', 'bicubic')),
        requires_grad=old.requires_grad)
    return model


def vit_feature_layer(model: nn.Module) -> FeatureLayer:
    """The tokens of the last output layer, after the final norm when that
    layer is the last one: B x (extra + h * w) x C."""
    last = last_output_stage(model, len(model.layers))
    module = model.layers[last]
    if last == len(model.layers) - 1 and getattr(model, 'final_norm', False):
        module = model.ln1
    return FeatureLayer(module, extra_tokens=model.num_extra_tokens,
                        class_token=model.out_type == 'cls_token')


@hookimpl
def brnpa_register_backbones(register):
    register(BackboneFamily(
        name='vit',
        matches=is_vision_transformer,
        convert=make_vit_high_resolution,
        feature_layer=vit_feature_layer,
        description='mmpretrain VisionTransformer and DeiT: patch stride '
        'P/2 (overlapping patches), position embedding resized'))
