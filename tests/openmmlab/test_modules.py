"""BRNPANeck and BRNPAHead as mmpretrain modules."""
import pytest
import torch

import brnpa_plugins.openmmlab  # noqa: F401
from brnpa_plugins.openmmlab import (ACTIVITY_FIELD, ATTENTION_FIELD,
                                     CONTRIBUTIONS_FIELD, NORM_FIELD,
                                     BRNPAHead, BRNPANeck)
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample


def test_registry_entries():
    assert MODELS.get('BRNPANeck') is BRNPANeck
    assert MODELS.get('BRNPAHead') is BRNPAHead


def test_custom_imports_of_the_package_registers_the_modules(tmp_path):
    import subprocess
    import sys
    config = tmp_path / 'cfg.py'
    config.write_text("custom_imports = dict(imports=['brnpa_plugins."
                      "openmmlab'], "
                      "allow_failed_imports=False)\n")
    code = ('from mmengine.config import Config\n'
            f'Config.fromfile({str(config)!r})\n'
            'from mmpretrain.registry import MODELS\n'
            "print(MODELS.get('BRNPANeck').__module__)")
    out = subprocess.run([sys.executable, '-c', code], capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == 'brnpa_plugins.openmmlab.necks'


def build_model(**neck):
    return MODELS.build(
        dict(type='ImageClassifier',
             backbone=dict(type='ResNet', depth=18, base_channels=8,
                           stem_channels=8, strides=(1, 2, 1, 1),
                           out_indices=(3, )),
             neck=dict(type='BRNPANeck', in_channels=64, **neck),
             head=dict(type='BRNPAHead', num_classes=5, in_channels=64,
                       num_parts=neck.get('num_parts', 3)),
             data_preprocessor=dict(num_classes=5)))


def test_neck_output_is_a_tuple_ending_with_the_part_vectors():
    neck = BRNPANeck(in_channels=16, num_parts=2)
    out = neck((torch.rand(3, 8, 4, 4), torch.rand(3, 16, 5, 6)))
    assert out.features.shape == (3, 32)
    assert out[-1] is out.features
    assert out.attention.shape == (3, 2, 5, 6)
    assert out.norm.shape == (3, 5, 6)


def test_predictions_carry_maps_and_tensor_mode_returns_logits():
    model = build_model(num_parts=3).eval()
    inputs = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        logits = model(inputs, mode='tensor')
        samples = model(inputs, [DataSample(), DataSample()], mode='predict')
    assert logits.shape == (2, 5)
    sample = samples[0]
    assert sample.get(ATTENTION_FIELD).shape == (3, 8, 8)
    assert sample.get(ACTIVITY_FIELD).shape == (3, )
    assert sample.get(NORM_FIELD).shape == (8, 8)
    torch.testing.assert_close(sample.get(ATTENTION_FIELD).sum(dim=(1, 2)),
                               torch.ones(3))
    torch.testing.assert_close(sample.pred_score,
                               logits[0].softmax(0))


def test_part_contributions_sum_to_the_logit_minus_the_bias():
    neck = BRNPANeck(in_channels=6, num_parts=3).double()
    head = BRNPAHead(num_classes=4, in_channels=6, num_parts=3, bias=True,
                     dropout=0.5).double().eval()
    with torch.no_grad():
        head.fc.bias.uniform_(-1, 1)
        feats = neck(torch.rand(2, 6, 5, 5, dtype=torch.float64))
        logits = head(feats)
        samples = head.predict(feats, [DataSample(), DataSample()])
    for sample, logit in zip(samples, logits):
        terms = sample.get(CONTRIBUTIONS_FIELD)
        assert terms.shape == (3, 4) and terms.dtype == torch.float64
        torch.testing.assert_close(terms.sum(dim=0), logit - head.fc.bias,
                                   rtol=0, atol=1e-12)
    # the parts' terms differ: the sum is not one part's term repeated
    assert not torch.allclose(terms[0], terms[1])


def test_gradients_reach_the_backbone():
    model = build_model()
    model(torch.rand(2, 3, 64, 64), mode='tensor').sum().backward()
    grad = model.backbone.conv1.weight.grad
    assert grad is not None and grad.abs().sum() > 0


@pytest.mark.parametrize('neck, match', [
    (dict(in_channels=64, num_parts=0), 'BRNPANeck: num_parts'),
    (dict(in_channels=0), 'in_channels must be a positive'),
    (dict(in_channels=64, seed='best'), "seed must be one of"),
])
def test_bad_neck_values_name_the_value(neck, match):
    with pytest.raises(ValueError, match=match):
        MODELS.build(dict(type='BRNPANeck', **neck))


@pytest.mark.parametrize('head, match', [
    (dict(num_classes=0, in_channels=64), 'num_classes must be'),
    (dict(num_classes=3, in_channels=64, dropout=1.0), 'dropout'),
])
def test_bad_head_values_name_the_value(head, match):
    with pytest.raises(ValueError, match=match):
        MODELS.build(dict(type='BRNPAHead', **head))


@pytest.mark.parametrize('spec', [
    dict(type='BRNPANeck', in_channels=64),
    dict(type='BCNNNeck', in_channels=64),
    dict(type='BRNPAHead', num_classes=3, in_channels=64),
], ids=lambda spec: spec['type'])
def test_an_unknown_argument_names_the_closest_one(spec):
    with pytest.raises(TypeError) as error:
        MODELS.build(dict(spec, num_part=3))
    message = str(error.value)
    assert f"{spec['type']}: unknown argument 'num_part' (did you mean " \
        "'num_parts'?)" in message
    assert 'in_channels, num_parts' in message  # the accepted names


def test_an_unknown_argument_of_a_head_names_the_base_class_arguments():
    with pytest.raises(TypeError, match=r"'tpok' \(did you mean 'topk'\?\)"
                       r'.* loss, topk, cal_acc'):
        MODELS.build(dict(type='BRNPAHead', num_classes=3, in_channels=64,
                          tpok=(1, )))


def test_an_unknown_argument_inside_a_model_config_is_named():
    with pytest.raises(TypeError, match="BRNPANeck: unknown argument "
                       r"'num_part' \(did you mean 'num_parts'\?\)"):
        build_model(num_part=3)


@pytest.mark.parametrize('dropout', ['x', None, float('nan'), -0.1, True])
def test_a_dropout_that_is_not_a_probability_is_named(dropout):
    with pytest.raises(ValueError,
                       match=r'BRNPAHead: dropout must be a number in '
                       rf'\[0, 1\), got {dropout!r}'):
        MODELS.build(dict(type='BRNPAHead', num_classes=3, in_channels=64,
                          dropout=dropout))


def test_in_channels_not_matching_the_backbone_names_the_fix():
    neck = BRNPANeck(in_channels=2048)
    with pytest.raises(ValueError,
                       match=r'in_channels=2048 .* set '
                       r'model.neck.in_channels=64'):
        neck((torch.rand(1, 64, 4, 4), ))


def test_head_not_matching_the_neck_names_the_fix():
    head = BRNPAHead(num_classes=3, in_channels=64, num_parts=3)
    neck = BRNPANeck(in_channels=64, num_parts=2)
    with pytest.raises(ValueError, match='3 parts x 64 channels = 192'):
        head(neck(torch.rand(1, 64, 4, 4)))


def test_the_neck_passes_the_core_output_as_it_is():
    from brnpa_plugins.core import BRNPA, BRNPAOutput
    from brnpa_plugins.openmmlab import BCNNNeck, BRNPANeck
    torch.manual_seed(0)
    x = torch.rand(2, 16, 6, 6)
    out = BRNPANeck(in_channels=16, num_parts=3)((x, ))
    core = BRNPA(num_parts=3)(x)
    assert isinstance(out.parts, BRNPAOutput)
    assert torch.equal(out.seeds, core.seeds)
    assert torch.equal(out.attention, core.attention)
    assert out[-1].shape == (2, 48)  # what any mmpretrain head reads
    bcnn = BCNNNeck(in_channels=16, num_parts=3)((x, ))
    assert isinstance(bcnn.parts, BRNPAOutput) and bcnn.seeds is None
