"""``BRNPANeck(relu_input=...)``: signed backbone features (after a
LayerNorm) grouped as they are or rectified first."""
import pytest
import torch

import brnpa_plugins.openmmlab  # noqa: F401
from brnpa_plugins.core import BRNPA
from mmpretrain.registry import MODELS


def signed_features():
    torch.manual_seed(0)
    return torch.nn.functional.layer_norm(torch.randn(2, 16, 6, 6)
                                          .permute(0, 2, 3, 1), (16, )
                                          ).permute(0, 3, 1, 2)


def test_signed_features_are_kept_by_default():
    x = signed_features()
    assert (x < 0).any()
    neck = MODELS.build(dict(type='BRNPANeck', in_channels=16))
    assert neck.relu_input is False
    expected = BRNPA(num_parts=3)(x)
    assert torch.equal(neck((x, )).parts.features, expected.features)


def test_relu_input_groups_the_rectified_features():
    x = signed_features()
    neck = MODELS.build(dict(type='BRNPANeck', in_channels=16,
                             relu_input=True))
    out = neck((x, ))
    expected = BRNPA(num_parts=3)(x.relu())
    assert torch.equal(out.parts.features, expected.features)
    assert torch.equal(out.norm, expected.norm)
    assert (out.parts.features >= 0).all()
    # not what the signed features give
    assert not torch.equal(out.norm, BRNPA(num_parts=3)(x).norm)


def test_relu_input_must_be_a_bool():
    with pytest.raises(ValueError, match='relu_input must be True or False'):
        MODELS.build(dict(type='BRNPANeck', in_channels=16, relu_input='yes'))
