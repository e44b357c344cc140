"""The grad-cam package's CAMs through the saliency registry."""
import pytest
import torch

from brnpa_plugins.backbones import FeatureLayer
from brnpa_plugins.evaluation import compute_saliency


@pytest.mark.parametrize('method',
                         ['gradcam', 'gradcam++', 'scorecam', 'ablationcam'])
def test_cams_return_one_image_sized_map_per_image(tiny_cnn, method):
    images = torch.randn(3, 3, 16, 16,
                         generator=torch.Generator().manual_seed(0))
    layer = FeatureLayer(tiny_cnn.features)
    with torch.no_grad():  # as in a test loop: the wrappers enable grads
        maps = compute_saliency(method, tiny_cnn, images,
                                torch.tensor([0, 1, 2]), feature_layer=layer,
                                batch_size=4, images_per_call=2)
    assert maps.shape == (3, 16, 16)
    assert torch.isfinite(maps).all()
    assert 0 <= maps.min() and maps.max() <= 1 + 1e-6
    # hooks are released: the model runs as before
    assert tiny_cnn(images).shape == (3, 5)
    assert not tiny_cnn.features._forward_hooks


def test_cams_need_the_feature_layer(tiny_cnn):
    with pytest.raises(ValueError, match='needs the feature_layer'):
        compute_saliency('gradcam', tiny_cnn, torch.randn(1, 3, 16, 16),
                         torch.tensor([0]))
