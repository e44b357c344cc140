"""Control maps: what any saliency method has to beat, and the oracle.

A score of an explanation means something only next to maps that could
match it without explaining the model:

- ``random``: uniform noise (seeded; reports average it over many seeds);
- ``gaussian``: a centred Gaussian blob (a centre bias);
- ``saturation``: the colour saturation of the image, a model-free map
  (on the generated benchmark, every coloured object is saturated, decisive
  or not);
- ``white-pixels`` and ``edge-energy``: detectors of the generated
  benchmark's own cue, model-free: the share of white pixels (the white rim
  of the ``'white-rim'`` variant) and the gradient magnitude (every rim's
  edges in the ``'two-tone-rim'`` variant). :data:`CUE_DETECTORS` names the
  one each variant was designed against; a report on a generated benchmark
  scores both (and any other registered with ``cue=True``): where one
  reaches the oracle, the benchmark's cue is found without any model;
- ``oracle`` / ``anti-oracle``: the decisive-part boxes / the distractor
  boxes of the ground truth. A benchmark is valid only if the oracle beats
  the anti-oracle and the model-free maps on every headline metric;
- ``oracle-pixels``: the decisive-part boxes at full resolution, the
  ceiling of the ground-truth metrics (pointing and energy 1).

All but ``oracle-pixels`` are saliency methods (``method(model, images,
targets, ...)``) computed on a grid of ``stride``-pixel cells (by default
8, the grid of the demo's BR-NPA maps), so that perturbation metrics remove
the same patches for every row and the oracle is the best map of that
grid. None of them runs the model.
"""
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...core.maps import min_max_normalize
from ..ground_truth import GroundTruth, role_mask

#: ImageNet statistics of mmpretrain's data preprocessors (0-255 pixels).
IMAGENET_MEAN = (123.675, 116.28, 103.53)
IMAGENET_STD = (58.395, 57.12, 57.375)
#: The model-free detector of each variant's decisive cue
#: (``SyntheticPartsConfig.variant`` -> control name).
CUE_DETECTORS = {'white-rim': 'white-pixels', 'two-tone-rim': 'edge-energy'}


def _pool(maps: Tensor, stride: int) -> Tensor:
    """B x H x W pixel maps -> B x H/stride x W/stride cell means."""
    _grid(maps, stride)
    return F.avg_pool2d(maps.float()[:, None], stride)[:, 0]


def _grid(images: Tensor, stride: int):
    height, width = images.shape[-2:]
    if not isinstance(stride, int) or stride < 1 or height % stride or \
            width % stride:
        raise ValueError(
            f'stride must be a positive integer dividing the image size '
            f'{(height, width)}, got {stride!r}')
    return height // stride, width // stride


def uniform_random(model: nn.Module, images: Tensor,
                   targets: Optional[Tensor] = None, seed: int = 0,
                   stride: int = 8) -> Tensor:
    """Uniform noise in [0, 1], one map per image, from ``seed``."""
    generator = torch.Generator().manual_seed(seed)
    return torch.rand((len(images), *_grid(images, stride)),
                      generator=generator).to(images.device)


def centred_gaussian(model: nn.Module, images: Tensor,
                     targets: Optional[Tensor] = None, sigma: float = 0.25,
                     stride: int = 8) -> Tensor:
    """A Gaussian centred on the image, ``sigma`` times the image side."""
    rows, cols = _grid(images, stride)
    y = (torch.arange(rows, dtype=torch.float32) + 0.5) / rows - 0.5
    x = (torch.arange(cols, dtype=torch.float32) + 0.5) / cols - 0.5
    blob = torch.exp(-(y[:, None]**2 + x[None, :]**2) / (2 * sigma**2))
    return blob.expand(len(images), rows, cols).clone().to(images.device)


def saturation(model: nn.Module, images: Tensor,
               targets: Optional[Tensor] = None,
               mean: Sequence[float] = IMAGENET_MEAN,
               std: Sequence[float] = IMAGENET_STD,
               stride: int = 8) -> Tensor:
    """HSV saturation, (max - min) / max of R, G, B, of the raw image.

    Args:
        images: normalised B x 3 x H x W model inputs.
        mean, std: the normalisation to undo (0-255 pixel scale).
    """
    pixels = _pixels(images, mean, std, 'saturation')
    high, low = pixels.amax(dim=1), pixels.amin(dim=1)
    return min_max_normalize(_pool((high - low) / high.clamp_min(1.0),
                                   stride))


def white_pixels(model: nn.Module, images: Tensor,
                 targets: Optional[Tensor] = None,
                 mean: Sequence[float] = IMAGENET_MEAN,
                 std: Sequence[float] = IMAGENET_STD,
                 threshold: float = 250.0, stride: int = 8) -> Tensor:
    """Share of each cell's pixels whose R, G and B all reach ``threshold``
    (0-255): a detector of white rims that runs no model."""
    pixels = _pixels(images, mean, std, 'white-pixels')
    return _pool((pixels.amin(dim=1) >= threshold).float(), stride)


def edge_energy(model: nn.Module, images: Tensor,
                targets: Optional[Tensor] = None,
                mean: Sequence[float] = IMAGENET_MEAN,
                std: Sequence[float] = IMAGENET_STD,
                stride: int = 8) -> Tensor:
    """Mean gradient magnitude (Sobel filters on the grey image) of each
    cell: an edge and rim detector that runs no model."""
    grey = _pixels(images, mean, std, 'edge-energy').mean(dim=1,
                                                           keepdim=True)
    sobel = torch.tensor([[-1., 0., 1.], [-2., 0., 2.], [-1., 0., 1.]],
                         device=images.device)
    kernels = torch.stack([sobel, sobel.t()])[:, None]
    padded = F.pad(grey, (1, 1, 1, 1), mode='replicate')
    gradient = F.conv2d(padded, kernels)
    return _pool(gradient.pow(2).sum(dim=1).sqrt(), stride)


def _pixels(images: Tensor, mean: Sequence[float], std: Sequence[float],
            name: str) -> Tensor:
    """Normalised B x 3 x H x W inputs back on the 0-255 pixel scale."""
    if images.dim() != 4 or images.shape[1] != 3:
        raise ValueError(f'{name} needs B x 3 x H x W RGB images, got '
                         f'shape {tuple(images.shape)}')
    shape = (1, 3, 1, 1)
    pixels = images.float() * torch.tensor(std, device=images.device).view(
        shape) + torch.tensor(mean, device=images.device).view(shape)
    return pixels.clamp(0, 255)


def _require(truth: Optional[GroundTruth], name: str) -> GroundTruth:
    if truth is None:
        raise ValueError(
            f'saliency method {name!r} needs ground_truth=GroundTruth(...): '
            'it only runs on a dataset with known decisive parts (the '
            'generated benchmark, objects.txt).')
    return truth


def oracle(model: nn.Module, images: Tensor,
           targets: Optional[Tensor] = None,
           ground_truth: Optional[GroundTruth] = None,
           stride: int = 8) -> Tensor:
    """The decisive-part boxes (share of each cell they cover)."""
    truth = _require(ground_truth, 'oracle')
    mask = role_mask(truth.to(images.device), images.shape[-2:])
    return _pool(mask, stride)


def pixel_oracle(model: nn.Module, images: Tensor,
                 targets: Optional[Tensor] = None,
                 ground_truth: Optional[GroundTruth] = None) -> Tensor:
    """The decisive-part boxes at the images' resolution (1 inside)."""
    truth = _require(ground_truth, 'oracle-pixels')
    return role_mask(truth.to(images.device), images.shape[-2:]).float()


def anti_oracle(model: nn.Module, images: Tensor,
                targets: Optional[Tensor] = None,
                ground_truth: Optional[GroundTruth] = None,
                stride: int = 8) -> Tensor:
    """The distractor boxes (share of each cell they cover)."""
    truth = _require(ground_truth, 'anti-oracle')
    mask = role_mask(truth.to(images.device), images.shape[-2:],
                     decisive=False)
    return _pool(mask, stride)
