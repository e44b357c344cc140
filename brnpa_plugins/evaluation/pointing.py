"""Pointing game: does a saliency map's peak fall on an annotated part?"""
from typing import Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor

from ..core.maps import upsample


def pad_points(points: Sequence[np.ndarray]) -> Tensor:
    """Stack per-image K_i x 2 point arrays into B x K x 2, padding with NaN."""
    most = max([len(p) for p in points] + [1])
    padded = torch.full((len(points), most, 2), float('nan'))
    for index, image_points in enumerate(points):
        if len(image_points):
            padded[index, :len(image_points)] = torch.as_tensor(
                np.asarray(image_points, dtype=np.float64).reshape(-1, 2))
    return padded


def map_peaks(saliency: Tensor, image_size: Tuple[int, int]) -> Tensor:
    """(x, y) pixel centre of each map's maximum after upsampling: B x 2."""
    height, width = image_size
    upsampled = upsample(saliency.detach().float(), (height, width))
    flat = upsampled.flatten(1).argmax(dim=1)
    rows = torch.div(flat, width, rounding_mode='floor')
    cols = flat - rows * width
    return torch.stack([cols, rows], dim=1).float() + 0.5


def pointing_game(saliency: Tensor,
                  points: Sequence[np.ndarray],
                  image_size: Tuple[int, int],
                  tolerance: float,
                  peaks: Optional[Tensor] = None) -> Tensor:
    """Per-image hit (1.0) or miss (0.0) of the saliency peak on a part.

    The map is upsampled (bilinear) to the image; its peak is a hit when it
    lies within ``tolerance`` pixels of any annotated part point.

    Args:
        saliency: B x h x w maps (higher = more salient).
        points: B arrays of K_i x 2 part points (x, y) in image pixels, e.g.
            from :func:`brnpa_plugins.data.load_part_locations`.
        image_size: (H, W) of the image the points refer to.
        tolerance: hit radius in pixels (e.g. half a part's size).
        peaks: precomputed B x 2 peaks, to score other points on them.

    Returns:
        Tensor[B] of 1.0 / 0.0, NaN for images without any part point.
    """
    if saliency.dim() != 3 or saliency.shape[0] != len(points):
        raise ValueError(
            f'saliency must be B x h x w with one map per image; got shape '
            f'{tuple(saliency.shape)} for {len(points)} point sets')
    if not tolerance >= 0:
        raise ValueError(f'tolerance must be >= 0 pixels, got {tolerance!r}')
    if peaks is None:
        peaks = map_peaks(saliency, image_size)
    padded = pad_points(points).to(peaks.device)
    distance = (padded - peaks.unsqueeze(1)).norm(dim=2)  # B x K, NaN pads
    hit = (distance.nan_to_num(float('inf')) <= tolerance).any(dim=1).float()
    has_points = ~torch.isnan(padded[..., 0]).all(dim=1)
    return torch.where(has_points, hit, torch.full_like(hit, float('nan')))
