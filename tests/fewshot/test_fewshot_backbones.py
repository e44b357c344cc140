import pytest
import torch

from brnpa_plugins.fewshot import FewShotBackbone
from brnpa_plugins.fewshot.backbones import ARCHITECTURES

WIDTHS = (4, 6, 8, 10)


@pytest.mark.parametrize('arch, low, high', [('resnet12', 2, 8),
                                             ('conv4', 2, 8),
                                             ('resnet18', 1, 4)])
def test_high_resolution_keeps_the_last_two_stages_at_full_size(
        arch, low, high):
    images = torch.rand(2, 3, 32, 32)
    low_res = FewShotBackbone(arch, WIDTHS)
    high_res = FewShotBackbone(arch, WIDTHS, high_resolution=True)
    assert low_res(images).shape == (2, 10, low, low)
    features = high_res(images)
    assert features.shape == (2, 10, high, high)
    assert bool((features >= 0).all())
    # Same weights, so a low-resolution checkpoint loads as it is.
    high_res.load_state_dict(low_res.state_dict())


def test_standard_resnet12_widths():
    backbone = FewShotBackbone('resnet12')
    assert ARCHITECTURES['resnet12'].widths == (64, 160, 320, 640)
    assert backbone.out_channels == 640
    assert backbone(torch.rand(1, 3, 84, 84)).shape == (1, 640, 5, 5)


@pytest.mark.parametrize('kwargs, match', [
    (dict(arch='resnet50'), 'arch must be one of'),
    (dict(widths=(8, 16, 32)), 'four positive integers'),
    (dict(widths=(8, 16, 0, 32)), 'four positive integers'),
])
def test_invalid_arguments_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        FewShotBackbone(**kwargs)


def test_an_unknown_argument_names_the_closest_one():
    with pytest.raises(TypeError, match="FewShotBackbone: unknown argument "
                       r"'high_res' \(did you mean 'high_resolution'\?\)"):
        FewShotBackbone(high_res=True)
