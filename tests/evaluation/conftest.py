"""Small models with scores known in closed form, shared by the tests."""
import pytest
import torch
from torch import nn


class RegionFraction(nn.Module):
    """Two-class model whose class-0 probability is the mean of channel 0
    over a fixed region of the image (clamped away from 0 and 1).

    On an image of ones, that is the fraction of the region left intact.
    """

    def __init__(self, region: torch.Tensor):
        super().__init__()
        self.register_buffer('region', region.float())

    def forward(self, images):
        inside = (images[:, 0] * self.region).flatten(1).sum(1)
        fraction = (inside / self.region.sum()).clamp(1e-6, 1 - 1e-6)
        # softmax([logit(f), 0])[0] == f
        return torch.stack([torch.logit(fraction),
                            torch.zeros_like(fraction)], dim=1)


@pytest.fixture
def region_model():
    """:class:`RegionFraction` of the top-left 4 x 4 pixels of 8 x 8 images."""
    region = torch.zeros(8, 8)
    region[:4, :4] = 1
    return RegionFraction(region)


@pytest.fixture
def tiny_cnn():
    """A seeded random 5-class CNN; ``features`` is the layer CAMs read."""
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(0)
    channels, num_classes = 8, 5
    model = nn.Sequential()
    model.add_module('features', nn.Sequential(
        nn.Conv2d(3, channels, 3, stride=2, padding=1), nn.ReLU()))
    model.add_module('pool', nn.AdaptiveAvgPool2d(1))
    model.add_module('flatten', nn.Flatten())
    model.add_module('fc', nn.Linear(channels, num_classes))
    torch.random.set_rng_state(generator_state)
    return model.eval()
