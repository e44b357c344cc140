import pytest
import torch
from torchvision.models import resnet18, resnet50

from brnpa_plugins.core import make_high_resolution


def trunk(model, x):
    x = model.maxpool(model.relu(model.bn1(model.conv1(x))))
    for name in ('layer1', 'layer2', 'layer3', 'layer4'):
        x = getattr(model, name)(x)
    return x


@pytest.mark.parametrize('factory, channels', [(resnet18, 512),
                                               (resnet50, 2048)])
def test_high_resolution_multiplies_the_map_side_by_four(factory, channels):
    model = factory().eval()
    x = torch.rand(1, 3, 64, 64)
    assert trunk(model, x).shape == (1, channels, 2, 2)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    make_high_resolution(model)
    assert trunk(model, x).shape == (1, channels, 8, 8)
    # no weight changed shape: pretrained checkpoints still load
    model.load_state_dict(state)


def test_only_the_named_stages_change():
    model = make_high_resolution(resnet18(), stages='layer4')
    assert trunk(model.eval(), torch.rand(1, 3, 64, 64)).shape[-1] == 4
    assert model.layer3[0].conv1.stride == (2, 2)


def test_unknown_stage_names_the_children():
    with pytest.raises(ValueError, match="no stage 'stage9'.*layer1"):
        make_high_resolution(resnet18(), stages=('stage9', ))


def test_a_stage_without_strided_convolution_is_reported():
    with pytest.raises(ValueError, match="stage 'layer1'.*no strided"):
        make_high_resolution(resnet18(), stages=('layer1', ))
