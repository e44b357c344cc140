"""RISE: randomised input sampling for explanation (Petsiuk et al., 2018).

The image is multiplied by many random smooth masks (0 = hidden, i.e. the
mean of the normalised input space); the saliency of a pixel is the average
probability of the explained class over the masks, weighted by how visible
the pixel was: ``sum_n p_n * M_n / (num_masks * probability)``. A mask is a
random ``cells x cells`` binary grid (each cell kept with ``probability``),
bilinearly upsampled to ``cells + 1`` cells of the image's cell size and
cropped at a random shift of less than one cell. The masks depend only on
``seed``, ``num_masks`` and the image size, not on the batching.
"""
import math
from typing import Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...core.checks import check_positive_int
from ..scoring import check_batch_size, class_probabilities


class RiseMasks:
    """The ``num_masks`` random masks of RISE for one image size.

    Args:
        num_masks: number of masks N.
        image_size: (H, W) of the images.
        cells: side of the random grid. Defaults to 7.
        probability: chance that a grid cell is kept. Defaults to 0.5.
        seed: seed of the masks. Defaults to 0.
        device: where masks are built.
    """

    def __init__(self, num_masks: int, image_size: Tuple[int, int],
                 cells: int = 7, probability: float = 0.5, seed: int = 0,
                 device='cpu'):
        for name, value in (('num_masks', num_masks), ('cells', cells)):
            check_positive_int(value, name, 'RISE: ')
        if not 0.0 < probability <= 1.0:
            raise ValueError(f'RISE probability must lie in (0, 1], got '
                             f'{probability!r}')
        self.num_masks = num_masks
        self.image_size = tuple(image_size)
        self.probability = probability
        height, width = self.image_size
        self.cell = (math.ceil(height / cells), math.ceil(width / cells))
        self.upsampled = ((cells + 1) * self.cell[0],
                          (cells + 1) * self.cell[1])
        generator = torch.Generator().manual_seed(seed)
        self.grids = (torch.rand((num_masks, 1, cells, cells),
                                 generator=generator) < probability).float()
        self.shifts = torch.stack([
            torch.randint(self.cell[0], (num_masks, ), generator=generator),
            torch.randint(self.cell[1], (num_masks, ), generator=generator)
        ], dim=1)
        self.grids = self.grids.to(device)
        self.shifts = self.shifts.to(device)

    def __call__(self, index: Tensor) -> Tensor:
        """The masks with the given indices: len(index) x H x W in [0, 1]."""
        index = index.to(self.grids.device)
        smooth = F.interpolate(self.grids[index], size=self.upsampled,
                               mode='bilinear', align_corners=False)[:, 0]
        height, width = self.image_size
        rows = self.shifts[index, 0, None] + torch.arange(
            height, device=index.device)
        cols = self.shifts[index, 1, None] + torch.arange(
            width, device=index.device)
        picked = torch.arange(len(index), device=index.device)
        return smooth[picked[:, None, None], rows[:, :, None],
                      cols[:, None, :]]


def rise(model: nn.Module, images: Tensor, targets: Tensor,
         num_masks: int = 4000, cells: int = 7, probability: float = 0.5,
         seed: int = 0, batch_size: int = 64) -> Tensor:
    """RISE saliency of each image for its target class: B x H x W.

    Args:
        model: maps normalised images to logits (a black box).
        images: B x C x H x W in the model's input space.
        targets: B classes to explain.
        num_masks: masks per image (the RISE paper used 4000 for ResNet-50).
        cells: side of the random grid.
        probability: chance that a grid cell is kept.
        seed: seed of the masks; equal seeds give equal maps.
        batch_size: most masked images per forward pass.
    """
    check_batch_size(batch_size)
    masks = RiseMasks(num_masks, images.shape[-2:], cells, probability, seed,
                      images.device)
    targets = torch.as_tensor(targets).long()

    def build(index: Tensor) -> Tensor:
        index = index.to(images.device)
        image = torch.div(index, num_masks, rounding_mode='floor')
        return images[image] * masks(index % num_masks).unsqueeze(1).to(
            images.dtype)

    scores = class_probabilities(model, build, len(images) * num_masks,
                                 targets.repeat_interleave(num_masks),
                                 batch_size).reshape(len(images), num_masks)
    scores = scores.to(images.device)
    saliency = images.new_zeros((len(images), *images.shape[-2:]),
                                dtype=torch.float32)
    for start in range(0, num_masks, batch_size):
        index = torch.arange(start, min(start + batch_size, num_masks))
        saliency += torch.einsum('bn,nhw->bhw', scores[:, index.to(
            scores.device)], masks(index))
    return saliency / (num_masks * probability)
