import importlib

import pytest
import torch
import torchreid
import torchvision

import brnpa_plugins.reid
from brnpa_plugins.core import BRNPAOutput
from brnpa_plugins.reid.models import (BACKBONES, build_brnpa_reid,
                                       register_models)


def build(name='brnpa_resnet18', loss='softmax', **options):
    if options:  # options beyond torchreid's build_model arguments
        return build_brnpa_reid(name, 5, loss, pretrained=False, **options)
    return torchreid.models.build_model(name, num_classes=5, loss=loss,
                                        pretrained=False)


def test_importing_registers_every_model_once():
    factory = getattr(torchreid.models, '__model_factory')
    before = dict(factory)
    importlib.reload(brnpa_plugins.reid)
    register_models()
    assert set(BACKBONES) <= set(factory)
    assert set(factory) == set(before)


def test_a_foreign_model_with_the_same_name_is_not_replaced():
    factory = getattr(torchreid.models, '__model_factory')
    ours = factory['brnpa_resnet18']
    factory['brnpa_resnet18'] = torchreid.models.resnet18
    try:
        with pytest.raises(RuntimeError, match="already has a model named"):
            register_models()
    finally:
        factory['brnpa_resnet18'] = ours


def test_training_outputs_follow_torchreids_loss_contract():
    images = torch.rand(4, 3, 64, 32)
    logits = build(loss='softmax').train()(images)
    assert logits.shape == (4, 5)
    logits, features = build(loss='triplet').train()(images)
    assert logits.shape == (4, 5) and features.shape == (4, 512)
    logits.sum().backward()  # gradients reach the backbone through BR-NPA


def test_evaluation_returns_the_embedding_and_featuremaps_on_request():
    model = build().eval()
    images = torch.rand(2, 3, 64, 32)
    with torch.no_grad():
        embedding = model(images)
        maps = model(images, return_featuremaps=True)
        parts = model.attend(images)
    assert embedding.shape == (2, model.feature_dim) == (2, 512)
    # layer4 at stride 1: 1/16 of the input, as torchreid's re-ID ResNets
    assert maps.shape == (2, 512, 4, 2) and (maps >= 0).all()
    assert isinstance(parts, BRNPAOutput)
    assert parts.attention.shape == (2, 3, 4, 2)
    torch.testing.assert_close(parts.attention.sum((2, 3)),
                               torch.ones(2, 3))


def test_high_resolution_variant_doubles_the_map_side():
    with torch.no_grad():
        maps = build('brnpa_resnet18_hr').eval()(torch.rand(1, 3, 64, 32),
                                                 return_featuremaps=True)
    assert maps.shape[-2:] == (8, 4)


def test_backbone_heads_are_dropped_and_parts_sized_the_bottleneck():
    model = build('brnpa_osnet_x1_0', num_parts=2, embedding_dim=64)
    assert model.backbone.classifier is None and model.backbone.fc is None
    assert model.bottleneck[0].in_features == 2 * 512
    assert model.classifier.out_features == 5
    assert model.classifier.bias is None


def test_teacher_logits_are_available_in_evaluation():
    model = build().eval()
    with torch.no_grad():
        assert model.logits(torch.rand(2, 3, 64, 32)).shape == (2, 5)


def test_unknown_loss_is_refused_when_building():
    with pytest.raises(ValueError, match=r"loss must be one of \('softmax', "
                       r"'triplet'\), got 'arcface'"):
        build(loss='arcface')


def test_bad_sizes_are_named():
    with pytest.raises(ValueError, match='embedding_dim'):
        build(embedding_dim=0)
    with pytest.raises(ValueError, match='num_parts'):
        build(num_parts=0)


def test_an_unknown_option_names_the_closest_one_before_building():
    with pytest.raises(TypeError, match="brnpa_resnet18: unknown argument "
                       r"'num_part' \(did you mean 'num_parts'\?\); known "
                       'arguments: loss, num_parts, embedding_dim, dropout, '
                       'refine, seed, activity, sort_by_activity, '
                       'part_logits$'):
        # pretrained=True: the check comes before any weights are read.
        build_brnpa_reid('brnpa_resnet18', 5, pretrained=True, num_part=3)


def test_a_dropout_that_is_not_a_probability_is_named():
    with pytest.raises(ValueError, match=r"BRNPAReID: dropout must be a "
                       r"number in \[0, 1\), got 'x'; set model.dropout"):
        build(dropout='x')


def test_pretrained_weights_offline_fail_with_a_clear_message(
        monkeypatch, tmp_path):
    # An empty weight cache and a proxy that refuses every connection.
    monkeypatch.setenv('TORCH_HOME', str(tmp_path))
    for variable in ('http_proxy', 'https_proxy', 'HTTP_PROXY',
                     'HTTPS_PROXY'):
        monkeypatch.setenv(variable, 'http://127.0.0.1:9')
    monkeypatch.delenv('no_proxy', raising=False)
    monkeypatch.delenv('NO_PROXY', raising=False)
    with pytest.raises(RuntimeError, match="ImageNet weights of 'resnet18'"
                       ".*pretrained=False"):
        torchreid.models.build_model('brnpa_resnet18', num_classes=5,
                                     pretrained=True)


def test_pretrained_weights_come_from_torchreids_file(monkeypatch,
                                                      tmp_path):
    # The torchvision file torchreid's resnet18 points at, already cached.
    url = torchreid.models.resnet.model_urls['resnet18']
    monkeypatch.setenv('TORCH_HOME', str(tmp_path))
    cache = tmp_path / 'hub' / 'checkpoints'
    cache.mkdir(parents=True)
    weights = torchvision.models.resnet18(num_classes=1000).state_dict()
    torch.save(weights, cache / url.rsplit('/', 1)[-1])
    model = torchreid.models.build_model('brnpa_resnet18', num_classes=5,
                                         pretrained=True)
    torch.testing.assert_close(model.backbone.layer4[0].conv1.weight,
                               weights['layer4.0.conv1.weight'])
    assert model.backbone.layer4[0].conv1.stride == (1, 1)
