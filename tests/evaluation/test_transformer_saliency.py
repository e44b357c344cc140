"""Saliency on ConvNeXt, ViT and Swin classifiers: the feature layer each
backbone family registers, token grids, Grad-CAM and attention rollout."""
import pytest
import torch
from mmpretrain.models import ImageClassifier

from brnpa_plugins.backbones import BackboneFamily, FeatureLayer, token_grid
from brnpa_plugins.evaluation import compute_saliency
from brnpa_plugins.evaluation.methods.rollout import attention_layers
from brnpa_plugins.openmmlab.saliency_metric import saliency_context

import brnpa_plugins.openmmlab  # noqa: F401  (registers the neck and head)

TINY_BACKBONES = {
    'convnext': dict(type='ConvNeXt', arch=dict(depths=[1, 1, 1, 1],
                                                channels=[8, 16, 24, 32]),
                     gap_before_final_norm=False),
    'vit': dict(type='VisionTransformer',
                arch=dict(embed_dims=32, num_layers=2, num_heads=2,
                          feedforward_channels=64),
                img_size=64, patch_size=8, out_type='featmap'),
    'swin': dict(type='SwinTransformer',
                 arch=dict(embed_dims=16, depths=[1, 1, 1, 1],
                           num_heads=[1, 1, 2, 2]),
                 img_size=64, window_size=2),
    'resnet': dict(type='ResNet', depth=18, base_channels=8,
                   out_indices=(3, )),
}
CHANNELS = {'convnext': 32, 'vit': 32, 'swin': 128, 'resnet': 64}


def classifier(family, neck='GlobalAveragePooling', **backbone):
    torch.manual_seed(0)
    channels = CHANNELS[family]
    if neck == 'BRNPANeck':
        neck_cfg = dict(type='BRNPANeck', in_channels=channels, num_parts=3)
        head = dict(type='BRNPAHead', num_classes=4, in_channels=channels,
                    num_parts=3)
    else:
        neck_cfg = dict(type='GlobalAveragePooling')
        head = dict(type='LinearClsHead', num_classes=4,
                    in_channels=channels)
    model = ImageClassifier(backbone={**TINY_BACKBONES[family], **backbone},
                            neck=neck_cfg, head=head)
    return model.eval()


class Logits(torch.nn.Module):
    """What saliency methods get: images to logits."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, images):
        return self.model(images, mode='tensor')


@pytest.mark.parametrize('family', sorted(TINY_BACKBONES))
def test_the_feature_layer_gives_the_map_the_neck_reads(family):
    model = classifier(family)
    layer = saliency_context(model)['feature_layer']
    images = torch.rand(2, 3, 64, 64)
    captured = []
    handle = layer.module.register_forward_hook(
        lambda module, args, output: captured.append(output))
    with torch.no_grad():
        expected = model.backbone(images)[-1]
    handle.remove()
    got = layer.feature_map(captured[-1], images.shape[-2:])
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected)
    assert (layer.extra_tokens is None) == (family in ('convnext',
                                                        'resnet'))


@pytest.mark.parametrize('family', ['convnext', 'vit', 'swin'])
def test_grad_cam_and_the_norm_map_explain_every_family(family):
    model = Logits(classifier(family))
    layers = saliency_context(model.model)
    images = torch.rand(2, 3, 64, 64)
    targets = torch.tensor([0, 3])
    grad_cam = compute_saliency('gradcam', model, images, targets, **layers)
    assert grad_cam.shape == (2, 64, 64)
    assert torch.isfinite(grad_cam).all() and grad_cam.max() > 0
    grid = model.model.backbone(images)[-1].shape[-2:]
    norm = compute_saliency('norm', model, images, targets, **layers)
    assert norm.shape[-2:] == grid


def test_token_grid_follows_the_image_shape():
    assert token_grid(144, (96, 96)) == (12, 12)
    assert token_grid(128, (256, 128)) == (16, 8)
    assert token_grid(7, (10, 80)) == (1, 7)
    with pytest.raises(ValueError, match='no grid tokens'):
        token_grid(0, (8, 8))


def test_a_family_without_a_feature_layer_is_a_clear_error():
    model = classifier('resnet')
    model.backbone = torch.nn.Conv2d(3, 8, 3)
    with pytest.raises(ValueError, match='cannot find the last feature '
                       'layer of Conv2d.*feature_layer'):
        saliency_context(model)
    with pytest.raises(TypeError, match='feature_layer must be callable'):
        BackboneFamily('x', bool, bool, feature_layer=3)


def _attention_output(layer, tokens):
    """The layer's output recomputed from the rollout's attention matrix,
    per head (before the head average)."""
    batch, count, _ = tokens.shape
    qkv = layer.qkv(tokens).reshape(batch, count, 3, layer.num_heads,
                                    layer.head_dims).permute(2, 0, 3, 1, 4)
    query, key, value = qkv
    weights = (query @ key.transpose(-2, -1) *
               layer.head_dims ** -0.5).softmax(-1)
    mixed = (weights @ value).transpose(1, 2).reshape(batch, count, -1)
    return layer.proj(mixed), weights.mean(1)


def test_rollout_reads_the_attention_the_model_computes():
    torch.manual_seed(0)
    model = classifier('vit', out_type='cls_token',
                       arch=dict(embed_dims=32, num_layers=1, num_heads=2,
                                 feedforward_channels=64))
    model.neck = None
    layer, = attention_layers(model)
    images = torch.rand(2, 3, 64, 64)
    inputs = []
    handle = layer.register_forward_hook(
        lambda module, args, output: inputs.append((args[0], output)))
    layers = saliency_context(model)
    tokens_layer = layers['feature_layer']
    assert tokens_layer.class_token and tokens_layer.extra_tokens == 1
    maps = compute_saliency('rollout', Logits(model), images, None, **layers)
    handle.remove()
    (tokens, output), = inputs
    recomputed, attention = _attention_output(layer, tokens)
    # The matrix rollout uses is the one the layer applied.
    torch.testing.assert_close(recomputed, output, rtol=1e-4, atol=1e-5)
    expected = 0.5 * attention + 0.5 * torch.eye(attention.shape[-1])
    assert maps.shape == (2, 8, 8)
    torch.testing.assert_close(maps, expected[:, 0, 1:].reshape(2, 8, 8))


def test_rollout_of_a_pooled_vit_averages_the_grid_rows():
    model = classifier('vit', out_type='avg_featmap')
    model.neck = None
    layers = saliency_context(model)
    assert not layers['feature_layer'].class_token
    images = torch.rand(1, 3, 64, 64)
    maps = compute_saliency('rollout', Logits(model), images, None, **layers)
    assert maps.shape == (1, 8, 8)
    # Rows of the rolled-out matrix sum to one, and the class token takes
    # a share of each grid row.
    assert 0 < maps.sum() < 1 + 1e-5


def test_rollout_needs_a_transformer():
    model = classifier('convnext')
    with pytest.raises(ValueError, match='needs feature_layer.extra_tokens'):
        compute_saliency('rollout', Logits(model), torch.rand(1, 3, 64, 64),
                         None, **saliency_context(model))
    with pytest.raises(ValueError, match='no self-attention layer'):
        compute_saliency('rollout', Logits(model), torch.rand(1, 3, 64, 64),
                         None, feature_layer=FeatureLayer(torch.nn.Identity(),
                                                          extra_tokens=0))


def test_feature_layer_is_a_named_tuple_of_the_registry():
    layer = FeatureLayer(torch.nn.Identity())
    assert layer.extra_tokens is None and layer.class_token is False
