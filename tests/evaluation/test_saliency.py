"""The saliency-method registry and the attention and norm maps."""
import pytest
import torch

from brnpa_plugins.core import (BRNPA, class_contributions, min_max_normalize,
                                part_contributions, saliency_map)
from brnpa_plugins.backbones import FeatureLayer
from brnpa_plugins.evaluation import compute_saliency
from brnpa_plugins.evaluation.methods import (SaliencyMethod,
                                              class_part_contributions,
                                              get_saliency_method,
                                              saliency_methods)
from brnpa_plugins.plugins import get_plugin_manager, hookimpl


class AttentionClassifier(torch.nn.Module):
    """conv -> BR-NPA -> linear, like the mmpretrain model, in plain torch."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.features = torch.nn.Sequential(
            torch.nn.Conv2d(3, 8, 3, stride=2, padding=1), torch.nn.ReLU())
        self.neck = BRNPA(num_parts=2)
        self.fc = torch.nn.Linear(16, 4)

    def forward(self, images):
        return self.fc(self.neck(self.features(images)).features.flatten(1))


def test_builtin_methods_and_controls_come_through_the_plugin_hook():
    methods = saliency_methods()
    assert {'attention', 'attention-all', 'brnpa', 'brnpa-class', 'norm',
            'gradcam',
            'gradcam++', 'scorecam', 'ablationcam', 'rise', 'random',
            'gaussian', 'saturation', 'oracle', 'anti-oracle'} <= set(methods)
    manager = get_plugin_manager()
    builtin = manager.get_plugin('brnpa_plugins.evaluation.methods')
    callers = {c.name for c in manager.get_hookcallers(builtin)}
    assert callers == {'brnpa_register_saliency_methods'}


def test_attention_and_norm_maps_come_from_the_named_layers():
    model = AttentionClassifier().eval()
    images = torch.randn(2, 3, 16, 16)
    layers = dict(feature_layer=FeatureLayer(model.features),
                  attention_layer=model.neck)
    attention = compute_saliency('attention', model, images, None, **layers)
    out = model.neck(model.features(images))
    assert torch.allclose(attention, saliency_map(out.attention, out.norm,
                                                  out.activity))
    every = compute_saliency('attention-all', model, images, None, **layers)
    assert torch.allclose(every, min_max_normalize(
        out.attention.sum(1) * out.norm), atol=1e-6)
    norm = compute_saliency('norm', model, images, None, **layers)
    features = model.features(images).norm(dim=1)
    assert norm.shape == (2, 8, 8)
    assert torch.equal(norm.flatten(1).argmax(1),
                       features.flatten(1).argmax(1))
    assert not model.neck._forward_hooks
    with pytest.raises(ValueError, match='needs the model.s attention_layer'):
        compute_saliency('attention', model, images, None,
                         feature_layer=FeatureLayer(model.features))
    with pytest.raises(ValueError, match='no `attention`'):
        compute_saliency('attention', model, images, None,
                         attention_layer=model.features)


def test_class_contributions_of_any_model_are_those_of_its_linear_head():
    model = AttentionClassifier().double().eval()
    for parameter in model.parameters():  # frozen weights work too
        parameter.requires_grad_(False)
    images = torch.randn(3, 3, 16, 16, dtype=torch.float64)
    targets = torch.tensor([0, 3, 1])
    out, contributions, explained = class_part_contributions(
        model, images, targets)
    exact = class_contributions(
        part_contributions(out.features.detach(), model.fc.weight), targets)
    torch.testing.assert_close(contributions, exact, rtol=0, atol=1e-12)
    with torch.no_grad():
        logits = model(images)
    torch.testing.assert_close(
        contributions.sum(dim=1),
        logits.gather(1, targets[:, None])[:, 0] - model.fc.bias[targets],
        rtol=0, atol=1e-12)
    assert explained.tolist() == targets.tolist()
    assert class_part_contributions(model, images)[2].tolist() == \
        logits.argmax(1).tolist()
    assert not model.neck._forward_hooks


def test_brnpa_class_weights_each_map_by_its_positive_contribution():
    model = AttentionClassifier().eval()
    images = torch.randn(2, 3, 16, 16)
    targets = torch.tensor([2, 0])
    maps = compute_saliency('brnpa-class', model, images, targets)
    out, contributions, _ = class_part_contributions(model, images, targets)
    weights = contributions.clamp_min(0)[:, :, None, None]
    expected = min_max_normalize((weights * out.attention).sum(1) * out.norm)
    torch.testing.assert_close(maps, expected)
    # another class weighs the parts differently, so its map differs
    other = compute_saliency('brnpa-class', model, images,
                             torch.tensor([1, 3]))
    assert not torch.allclose(maps, other)
    record = get_saliency_method('brnpa-class')
    assert record.attention and not record.control and not record.expensive


def test_attention_takes_the_most_active_map_not_the_first():
    attention = torch.zeros(1, 2, 2, 2)
    attention[0, 0, 0, 0] = attention[0, 1, 1, 1] = 1
    norm = torch.ones(1, 2, 2)
    activity = torch.tensor([[0.2, 0.7]])
    top = saliency_map(attention, norm, activity)
    assert top[0, 1, 1] == 1 and top[0, 0, 0] == 0
    assert saliency_map(attention, norm)[0, 0, 0] == 1  # no activity: order


class MethodsPlugin:
    """A plugin object with two methods, one of them broken."""

    @staticmethod
    def centre(model, images, targets, stride=4):
        maps = torch.zeros(len(images), images.shape[-2] // stride,
                           images.shape[-1] // stride)
        maps[:, 1:-1, 1:-1] = 1
        return maps

    @hookimpl
    def brnpa_register_saliency_methods(self, register):
        register(SaliencyMethod('test-centre', self.centre))
        register(SaliencyMethod('test-wrong',
                                lambda model, images, targets: images[0, 0]))


def test_a_plugin_method_gets_only_the_context_it_names():
    manager = get_plugin_manager()
    plugin = MethodsPlugin()
    manager.register(plugin, name='test-methods')
    try:
        images = torch.zeros(2, 3, 8, 8)
        maps = compute_saliency('test-centre', None, images, None,
                                feature_layer=None, stride=2, seed=3,
                                ground_truth=None)
        assert maps.shape == (2, 4, 4)
        with pytest.raises(ValueError, match="'test-wrong' must return"):
            compute_saliency('test-wrong', None, images, None)
    finally:
        manager.unregister(name='test-methods')
    with pytest.raises(KeyError, match="Unknown saliency method 'test-centre'"):
        compute_saliency('test-centre', None, torch.zeros(1, 3, 8, 8), None)
