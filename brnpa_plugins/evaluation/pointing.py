"""Pointing game: does a saliency map's peak fall on an annotated part?"""
import os
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


def random_pointing_baseline(num_images: int, map_size: Tuple[int, int],
                             points, image_size, tolerance,
                             seed: int = 0) -> Tensor:
    """The pointing game of uniformly random maps of the same resolution."""
    generator = torch.Generator().manual_seed(seed)
    random_maps = torch.rand((num_images, *map_size), generator=generator)
    return pointing_game(random_maps, points, image_size, tolerance)


def pointing_game_on_predictions(predictions: Sequence[dict],
                                 data_root: str,
                                 tolerance: float,
                                 random_seed: int = 0):
    """Pointing game of a BR-NPA model's test predictions, and of random maps.

    Args:
        predictions: dicts as written by ``tools/test.py --out`` (each with
            ``img_path``, ``ori_shape``, ``attention_maps`` and
            ``feature_norm``), for images of a CUB-layout ``data_root``.
        data_root: the dataset folder holding ``parts/part_locs.txt``.
        tolerance: hit radius in pixels.
        random_seed: seed of the random-map baseline.

    Returns:
        (hits of the top-ranked map, hits of random maps): two Tensor[B].
    """
    from ..core.maps import saliency_map
    from ..data.cub import load_part_locations
    if not predictions:
        raise ValueError('no predictions to score')
    missing = [k for k in ('attention_maps', 'feature_norm', 'img_path')
               if k not in predictions[0]]
    if missing:
        raise ValueError(
            f'predictions lack {missing}: they must come from a BR-NPA model '
            '(BRNPAHead) tested with `tools/test.py CONFIG CKPT --out FILE`')
    parts = load_part_locations(data_root)
    images_dir = os.path.join(data_root, 'images')
    points = [
        parts[os.path.relpath(p['img_path'], images_dir).replace(os.sep, '/')]
        for p in predictions
    ]
    shapes = {tuple(p['ori_shape']) for p in predictions}
    if len(shapes) != 1:
        raise ValueError('all images must share one size to be scored '
                         f'together; found sizes {sorted(shapes)}')
    image_size = shapes.pop()
    attention = torch.stack([p['attention_maps'] for p in predictions])
    norm = torch.stack([p['feature_norm'] for p in predictions])
    model_hits = pointing_game(saliency_map(attention.float(), norm.float()),
                               points, image_size, tolerance)
    random_hits = random_pointing_baseline(len(predictions),
                                           tuple(norm.shape[-2:]), points,
                                           image_size, tolerance, random_seed)
    return model_hits, random_hits
