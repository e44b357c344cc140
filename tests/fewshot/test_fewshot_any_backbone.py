"""Any nn.Module as the embedding network: learn2learn's, torchvision's."""
import learn2learn as l2l
import pytest
import torch
import torchvision
from torch import nn

from brnpa_plugins.fewshot import (BRNPAProtoNet, FeatureMapBackbone,
                                   build_backbone, build_dataset,
                                   build_taskset, build_transform,
                                   episode_loss, split_episode)
from brnpa_plugins.backbones import backbone_families

L2L_RESNET12 = 'learn2learn.vision.models.ResNet12Backbone'


@pytest.fixture(scope='module')
def episode(pickle_root):
    """A 5-way 1-shot episode of the tiny mini-ImageNet from learn2learn's
    TaskDataset."""
    dataset = build_dataset('mini-imagenet', pickle_root, 'train',
                            build_transform(32, pixels_0_255=True))
    taskset = build_taskset(dataset, ways=5, shots=1, queries=2)
    assert isinstance(taskset, l2l.data.TaskDataset)
    torch.manual_seed(0)
    return split_episode(taskset.sample(), shots=1)


# learn2learn's DropBlock divides by (map side - block size + 1): at 32 px,
# only the high-resolution maps are large enough for its blocks of 5.
@pytest.mark.parametrize('high_resolution, size, dropout', [(True, 8, 0.1),
                                                            (False, 2, 0.0)])
def test_learn2learn_resnet12_from_a_config_dict(episode, high_resolution,
                                                 size, dropout):
    model = BRNPAProtoNet(
        backbone=dict(type=L2L_RESNET12, dropblock_dropout=dropout),
        high_resolution=high_resolution, num_parts=2)
    network = model.backbone.network
    assert isinstance(network, l2l.vision.models.ResNet12Backbone)
    assert model.backbone.feature_layer == 'layer4'
    assert model.backbone.out_channels == 640 and model.embedding_dim == 1280
    out = model.forward_with_maps(episode.support, episode.support_labels,
                                  episode.query)
    # The map of layer4, before learn2learn's pooling and flattening: at
    # 32 px 2 x 2, or 8 x 8 once layer3 and layer4 stop max-pooling.
    assert out.query.attention.shape == (10, 2, size, size)
    assert out.logits.shape == (10, 5)
    # Pooling removed only in high resolution.
    pools = [isinstance(block.maxpool, nn.MaxPool2d)
             for block in (network.layer3[0], network.layer4[0])]
    assert pools == [not high_resolution] * 2
    # It trains, DropBlock and all.
    model.train()
    loss, _ = episode_loss(model, episode)
    loss.backward()
    assert network.layer1[0].conv1.weight.grad is not None


def test_torchvision_resnet18_by_import_path(episode):
    model = BRNPAProtoNet(backbone='torchvision.models.resnet18',
                          num_parts=3)
    assert isinstance(model.backbone.network, torchvision.models.ResNet)
    assert model.backbone.out_channels == 512
    out = model.forward_with_maps(episode.support, episode.support_labels,
                                  episode.query)
    # Stride surgery of the registry's 'resnet' family: 32 / 8 instead of
    # 32 / 32.
    assert out.query.attention.shape == (10, 3, 4, 4)
    assert model.backbone.network.layer4[0].conv1.stride == (1, 1)
    low = BRNPAProtoNet(backbone=dict(type='torchvision.models.resnet18',
                                      weights=None), high_resolution=False)
    assert low.backbone(episode.query).shape == (10, 512, 1, 1)


def test_a_module_and_a_named_layer():
    network = torchvision.models.resnet18()
    model = BRNPAProtoNet(backbone=network, feature_layer='layer3',
                          high_resolution=False)
    assert model.backbone.network is network
    assert model.backbone(torch.rand(2, 3, 64, 64)).shape == (2, 256, 4, 4)


def test_pooling_resnet12s_are_told_from_strided_resnets():
    # learn2learn's ResNet-12 names its stages as a torchvision ResNet does
    # but has no stride to change: the 'pooling' family converts it.
    families = backbone_families()
    network = l2l.vision.models.ResNet12Backbone()
    assert not families['resnet'].matches(network)
    assert families['pooling'].matches(network)
    resnet = torchvision.models.resnet18()
    assert families['resnet'].matches(resnet)
    assert not families['pooling'].matches(resnet)


def test_a_flat_vector_is_refused_clearly():
    flat = nn.Sequential(nn.Conv2d(3, 8, 3), nn.AdaptiveAvgPool2d(1),
                         nn.Flatten())
    with pytest.raises(ValueError, match=r'Sequential: it returns \(2, 8\), '
                       'not a B x C x H x W feature map.*model.feature_layer'):
        BRNPAProtoNet(backbone=flat, high_resolution=False)
    with pytest.raises(ValueError, match="its layer 'fc' returns"):
        BRNPAProtoNet(backbone='torchvision.models.resnet18',
                      feature_layer='fc', high_resolution=False)


@pytest.mark.parametrize('kwargs, error, match', [
    (dict(backbone='resnet-12'), ValueError,
     r"unknown backbone 'resnet-12' \(did you mean 'resnet12'\?\); use "
     r"one of \['conv4', 'resnet12', 'resnet18'\], an import path"),
    (dict(backbone='torchvision.models.resnet81'), ValueError,
     r"torchvision.models has no 'resnet81' \(did you mean 'resnet18'\?\)"),
    (dict(backbone='no_such_package.Net'), ValueError,
     "cannot import 'no_such_package'"),
    (dict(backbone=dict(type=L2L_RESNET12, dropblock_dropot=0.1)), TypeError,
     r"model.backbone learn2learn.vision.models.ResNet12Backbone: unknown "
     r"argument 'dropblock_dropot' \(did you mean 'dropblock_dropout'\?\)"),
    (dict(backbone=dict(type='resnet12', drop_rat=0.1)), TypeError,
     r"unknown argument 'drop_rat' \(did you mean 'drop_rate'\?\)"),
    (dict(backbone=dict(dropblock_dropout=0.1)), ValueError,
     'needs type='),
    (dict(backbone='torchvision.models.resnet18', feature_layer='layr4'),
     ValueError, r"has no such submodule \(did you mean 'layer4'\?\)"),
    (dict(backbone='torchvision.models.resnet18', widths=(8, 16, 32, 64)),
     ValueError, 'model.widths only applies to the built-in backbones'),
    (dict(backbone=L2L_RESNET12, in_channels=1), ValueError,
     'model.in_channels=1 .* first convolution of the backbone '
     'ResNet12Backbone takes 3'),
])
def test_bad_backbone_settings_are_named(kwargs, error, match):
    with pytest.raises(error, match=match):
        BRNPAProtoNet(**kwargs)


def test_high_resolution_of_an_unknown_network_says_how_to_fix():
    network = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2), nn.ReLU())
    with pytest.raises(ValueError, match='no registered family recognises '
                       'Sequential.*model.high_resolution=False'):
        BRNPAProtoNet(backbone=network)
    assert isinstance(BRNPAProtoNet(backbone=network, high_resolution=False
                                    ).backbone, FeatureMapBackbone)


def test_a_built_in_name_in_a_dict_overrides_the_model_options():
    backbone = build_backbone(dict(type='conv4', widths=(4, 4, 4, 6)),
                              widths=(8, 8, 8, 8), high_resolution=True)
    assert backbone.arch == 'conv4' and backbone.out_channels == 6
    assert backbone.high_resolution
