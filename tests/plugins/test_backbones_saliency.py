import pytest
import torch
import torchvision
from torch import nn

from brnpa_plugins.backbones import (FeatureLayer, backbone_families,
                                     to_high_resolution)
from brnpa_plugins.core import BRNPA, saliency_map
from brnpa_plugins.evaluation.methods import get_saliency_method


def test_torchvision_resnet_is_made_high_resolution():
    model = torchvision.models.resnet18(num_classes=4).eval()
    images = torch.rand(1, 3, 64, 64)
    body = nn.Sequential(*list(model.children())[:-2])
    assert body(images).shape[-2:] == (2, 2)
    assert to_high_resolution(model) is model
    assert body(images).shape[-2:] == (8, 8)


def test_stages_can_be_chosen_and_torchreid_builds_through_the_hook():
    model = torchvision.models.resnet18(num_classes=4).eval()
    body = nn.Sequential(*list(model.children())[:-2])
    to_high_resolution(model, stages=['layer4'])
    assert body(torch.rand(1, 3, 64, 64)).shape[-2:] == (4, 4)
    import torchreid

    import brnpa_plugins.reid  # noqa: F401
    reid = torchreid.models.build_model('brnpa_resnet18_hr', num_classes=5,
                                        pretrained=False)
    stride = reid.backbone.layer3[0].conv1.stride  # set by the hook's family
    assert stride == (1, 1)


def test_unknown_backbone_names_the_known_families():
    assert 'resnet' in backbone_families()
    with pytest.raises(ValueError, match=r"known families: \['convnext', "
                       r"'pooling', 'resnet', 'swin', 'vit'\]"):
        to_high_resolution(nn.Conv2d(3, 8, 3))


class TinyBRNPANet(nn.Module):

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 8, 3, stride=4), nn.ReLU())
        self.grouping = BRNPA(num_parts=3)
        self.head = nn.Linear(24, 5)

    def forward(self, x):
        return self.head(self.grouping(self.features(x)).features.flatten(1))


def test_brnpa_saliency_reads_the_grouping_of_any_model():
    torch.manual_seed(0)
    model = TinyBRNPANet().eval()
    images = torch.rand(2, 3, 32, 32)
    maps = get_saliency_method('brnpa').compute(model, images, None)
    expected = model.grouping(model.features(images))
    assert maps.shape == (2, 8, 8)
    assert torch.allclose(maps, saliency_map(expected.attention,
                                             expected.norm,
                                             expected.activity))
    assert not model.grouping._forward_hooks


def test_brnpa_saliency_needs_a_brnpa_module():
    with pytest.raises(ValueError, match='contains no BRNPA module'):
        get_saliency_method('brnpa').compute(nn.Conv2d(3, 3, 1),
                                             torch.rand(1, 3, 8, 8), None)


def test_unknown_saliency_method_suggests_close_names():
    with pytest.raises(KeyError, match="Did you mean 'brnpa'"):
        get_saliency_method('brnpaa')


def test_example_plugin_saliency_method(example_plugin):
    maps = get_saliency_method('centre-bias').compute(
        None, torch.rand(2, 3, 9, 9), None)
    assert maps.shape == (2, 9, 9)
    assert maps[0, 4, 4] == maps.max() == 1


def test_plugin_methods_serve_the_evaluation_tools(example_plugin):
    from brnpa_plugins.evaluation import compute_saliency
    torch.manual_seed(0)
    model = TinyBRNPANet().eval()
    images = torch.rand(2, 3, 32, 32)
    layers = dict(feature_layer=FeatureLayer(model.features),
                  attention_layer=None)
    maps = compute_saliency('brnpa', model, images, None, **layers)
    torch.testing.assert_close(
        maps, get_saliency_method('brnpa').compute(model, images, None))
    assert compute_saliency('centre-bias', model, images, None,
                            **layers).shape == (2, 32, 32)
    with pytest.raises(KeyError, match="Unknown saliency method 'no-such"):
        compute_saliency('no-such-method', model, images, None, **layers)
