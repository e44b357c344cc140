"""The ConvNeXt, ViT/DeiT and Swin families of the high-resolution hook,
on tiny random-init mmpretrain backbones."""
import copy

import pytest
import torch
from torch import nn

from brnpa_plugins.backbones import backbone_families, to_high_resolution
from brnpa_plugins.backbones.patches import (TrailingPadConv2d,
                                             overlap_patches,
                                             remove_patch_stride,
                                             resize_grid_embedding)

TINY_VIT = dict(embed_dims=32, num_layers=2, num_heads=2,
                feedforward_channels=64)


def tiny_convnext():
    from mmpretrain.models import ConvNeXt
    return ConvNeXt(arch=dict(depths=[1, 1, 1, 1], channels=[8, 16, 24, 32]),
                    gap_before_final_norm=False)


def tiny_vit(distilled=False, patch_size=8):
    from mmpretrain.models.backbones import (DistilledVisionTransformer,
                                             VisionTransformer)
    kind = DistilledVisionTransformer if distilled else VisionTransformer
    return kind(arch=TINY_VIT, img_size=64, patch_size=patch_size,
                out_type='featmap')


def tiny_swin():
    from mmpretrain.models import SwinTransformer
    return SwinTransformer(
        arch=dict(embed_dims=16, depths=[1, 1, 1, 1], num_heads=[1, 1, 2, 2]),
        img_size=64, window_size=2)


def converted(make):
    """(standard model, its state dict, the same model made high-res)."""
    torch.manual_seed(0)
    model = make()
    model.init_weights()
    model.eval()
    standard = copy.deepcopy(model)
    state = copy.deepcopy(model.state_dict())
    assert to_high_resolution(model) is model
    return standard, state, model


def test_the_hook_lists_the_families():
    families = backbone_families()
    assert {'resnet', 'convnext', 'vit', 'swin'} <= set(families)
    assert list(families)[0] == 'resnet'
    for name in ('convnext', 'vit', 'swin'):
        assert families[name].description


@pytest.mark.parametrize('make, standard_side, high_side, channels', [
    (tiny_convnext, 2, 8, 32),        # stride 32 -> 8
    (tiny_vit, 8, 16, 32),            # patch 8, stride 8 -> 4
    (lambda: tiny_vit(True), 8, 16, 32),
    (tiny_swin, 2, 4, 128),           # stride 32 -> 16
], ids=['convnext', 'vit', 'deit', 'swin'])
def test_grid_grows_and_standard_weights_load_strictly(
        make, standard_side, high_side, channels):
    standard, state, model = converted(make)
    images = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        before = standard(images)[-1]
        after = model(images)[-1]
    assert before.shape == (2, channels, standard_side, standard_side)
    assert after.shape == (2, channels, high_side, high_side)
    assert torch.isfinite(after).all()
    # No weight is new: the standard checkpoint loads strictly and gives the
    # same parameters (a ViT's position embedding is resized on loading).
    assert [n for n, _ in model.named_parameters()] == \
        [n for n, _ in standard.named_parameters()]
    result = model.load_state_dict(state, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    with torch.no_grad():
        assert torch.allclose(model(images)[-1], after, atol=1e-5)


def test_convnext_keeps_its_parameters_and_the_standard_subgrid():
    torch.manual_seed(0)
    conv = nn.Conv2d(4, 6, kernel_size=2, stride=2)
    unstrided = remove_patch_stride(conv)
    assert isinstance(unstrided, TrailingPadConv2d)
    assert unstrided.weight is conv.weight and unstrided.bias is conv.bias
    x = torch.rand(1, 4, 10, 10)
    with torch.no_grad():
        out = unstrided(x)
        assert out.shape == (1, 6, 10, 10)
        assert torch.allclose(out[..., ::2, ::2], conv(x), atol=1e-6)


def test_convnext_stages_can_be_chosen_and_are_checked():
    model = tiny_convnext()  # mmpretrain's train() returns None: no chaining
    model.eval()
    to_high_resolution(model, stages=[3])
    assert model(torch.rand(1, 3, 64, 64))[-1].shape[-2:] == (4, 4)
    with pytest.raises(ValueError, match='already runs'):
        to_high_resolution(model, stages=[3])
    with pytest.raises(ValueError, match='indices from 1 to 3'):
        to_high_resolution(tiny_convnext(), stages=[0])


def test_vit_patch_embedding_overlaps_with_the_same_weights():
    standard, state, model = converted(tiny_vit)
    projection = model.patch_embed.projection
    assert projection.stride == (4, 4) and projection.padding == (2, 2)
    assert torch.equal(projection.weight,
                       state['patch_embed.projection.weight'])
    assert model.patch_resolution == (16, 16)
    assert model.pos_embed.shape == (1, 1 + 16 * 16, 32)
    # the class token's embedding is kept as it was
    assert torch.equal(model.pos_embed[:, 0], state['pos_embed'][:, 0])
    with pytest.raises(ValueError, match='already overlaps'):
        to_high_resolution(model)
    with pytest.raises(ValueError, match='no stages to choose'):
        to_high_resolution(tiny_vit(), stages=['layers'])


def test_vit_patch_sizes_without_an_exact_double_are_refused():
    with pytest.raises(ValueError, match='multiple of 4'):
        to_high_resolution(tiny_vit(patch_size=6))
    with pytest.raises(ValueError, match='multiple of 4'):
        overlap_patches(nn.Conv2d(3, 8, 6, stride=6))


def test_resize_grid_embedding_keeps_extra_tokens_and_checks_the_grid():
    embedding = torch.rand(1, 2 + 3 * 3, 5)
    resized = resize_grid_embedding(embedding, (3, 3), (6, 6), 2)
    assert resized.shape == (1, 2 + 36, 5)
    assert torch.equal(resized[:, :2], embedding[:, :2])
    constant = torch.ones(1, 9, 5)
    assert torch.allclose(resize_grid_embedding(constant, (3, 3), (6, 6)),
                          torch.ones(1, 36, 5), atol=1e-5)
    with pytest.raises(ValueError, match='old_grid'):
        resize_grid_embedding(embedding, (4, 4), (8, 8), 2)


def test_swin_last_merging_at_stride_one():
    _, _, model = converted(tiny_swin)
    assert model.stages[2].downsample.sampler.stride == (1, 1)
    assert model.stages[0].downsample.sampler.stride == (2, 2)
    with pytest.raises(ValueError, match='only once'):
        to_high_resolution(model)


def test_swin_stages_can_be_chosen():
    model = tiny_swin()
    model.eval()
    to_high_resolution(model, stages=[2, 3])
    assert model.stages[1].downsample.sampler.stride == (1, 1)
    assert model(torch.rand(1, 3, 64, 64))[-1].shape[-2:] == (8, 8)
    with pytest.raises(ValueError, match='indices from 1 to 3'):
        to_high_resolution(tiny_swin(), stages=[4])
