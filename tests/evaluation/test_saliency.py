"""The saliency-method registry and the attention and norm maps."""
import pytest
import torch

from brnpa_plugins.core import BRNPA, min_max_normalize, saliency_map
from brnpa_plugins.evaluation import (SALIENCY_METHODS, SaliencyLayers,
                                      compute_saliency,
                                      register_saliency_method)


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


def test_builtin_methods_are_registered():
    assert {'attention', 'attention-all', 'norm', 'gradcam', 'gradcam++', 'scorecam',
            'ablationcam', 'rise'} <= set(SALIENCY_METHODS)


def test_attention_and_norm_maps_come_from_the_named_layers():
    model = AttentionClassifier().eval()
    images = torch.randn(2, 3, 16, 16)
    layers = SaliencyLayers(features=model.features, attention=model.neck)
    attention = compute_saliency('attention', model, images, None, layers)
    out = model.neck(model.features(images))
    assert torch.allclose(attention, saliency_map(out.attention, out.norm))
    every = compute_saliency('attention-all', model, images, None, layers)
    assert torch.allclose(every, min_max_normalize(
        out.attention.sum(1) * out.norm), atol=1e-6)
    norm = compute_saliency('norm', model, images, None, layers)
    features = model.features(images).norm(dim=1)
    assert norm.shape == (2, 8, 8)
    assert torch.equal(norm.flatten(1).argmax(1),
                       features.flatten(1).argmax(1))
    assert not model.neck._forward_hooks
    with pytest.raises(ValueError, match='layers.attention'):
        compute_saliency('attention', model, images, None,
                         SaliencyLayers(features=model.features))
    with pytest.raises(ValueError, match='no `attention`'):
        compute_saliency('attention', model, images, None,
                         SaliencyLayers(attention=model.features))


def test_register_a_method_and_check_what_it_returns():
    def centre(model, images, targets, layers):
        maps = torch.zeros(len(images), 4, 4)
        maps[:, 1:3, 1:3] = 1
        return maps

    def wrong(model, images, targets, layers):
        return torch.zeros(4, 4)

    register_saliency_method('test-centre', centre)
    register_saliency_method('test-wrong', wrong)
    try:
        maps = compute_saliency('test-centre', None, torch.zeros(2, 3, 8, 8),
                                None, SaliencyLayers())
        assert maps.shape == (2, 4, 4)
        with pytest.raises(ValueError, match='already registered'):
            register_saliency_method('test-centre', wrong)
        with pytest.raises(ValueError, match="'test-wrong' must return"):
            compute_saliency('test-wrong', None, torch.zeros(2, 3, 8, 8),
                             None, SaliencyLayers())
    finally:
        SALIENCY_METHODS.pop('test-centre')
        SALIENCY_METHODS.pop('test-wrong')
    with pytest.raises(KeyError, match='unknown saliency method'):
        compute_saliency('test-centre', None, torch.zeros(1, 3, 8, 8), None,
                         SaliencyLayers())
