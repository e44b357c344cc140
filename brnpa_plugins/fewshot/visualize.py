"""Save the ranked maps of an episode's support and query images as PNGs."""
import os
from typing import List, Sequence

import numpy as np
from torch import Tensor

from ..core import save_ranked_maps
from .data import IMAGENET_MEAN, IMAGENET_STD
from .episodes import Episode
from .protonet import EpisodeOutput


def to_uint8_images(images: Tensor, mean: Sequence[float] = IMAGENET_MEAN,
                    std: Sequence[float] = IMAGENET_STD) -> np.ndarray:
    """Undo the normalisation: B x C x H x W tensor -> B x H x W x 3 uint8
    (grey images, C = 1, are repeated in the three colours)."""
    mean = images.new_tensor(list(mean)).view(1, -1, 1, 1)
    std = images.new_tensor(list(std)).view(1, -1, 1, 1)
    pixels = ((images * std + mean).clamp(0, 1) * 255).round()
    if pixels.shape[1] == 1:
        pixels = pixels.expand(-1, 3, -1, -1)
    return pixels.byte().permute(0, 2, 3, 1).cpu().numpy()


def save_episode_maps(directory: str,
                      episode: Episode,
                      output: EpisodeOutput,
                      mean: Sequence[float] = IMAGENET_MEAN,
                      std: Sequence[float] = IMAGENET_STD,
                      max_images: int = 5) -> List[str]:
    """Render the maps of up to ``max_images`` support and query images.

    Support panels are titled with their way, query panels with their true
    and predicted way, so that the maps of a query can be compared with those
    of the prototype it matched.

    Returns:
        The paths of the written PNG files.
    """
    predictions = output.logits.argmax(dim=1).tolist()
    sets = (
        ('support', episode.support, output.support,
         [f'support way {w}' for w in episode.support_labels.tolist()]),
        ('query', episode.query, output.query,
         [f'query way {w} -> {p}' for w, p in zip(
             episode.query_labels.tolist(), predictions)]),
    )
    paths = []
    for name, images, maps, titles in sets:
        count = min(max_images, len(images))
        pictures = to_uint8_images(images[:count], mean, std)
        for index in range(count):
            paths.append(save_ranked_maps(
                os.path.join(directory, f'{name}_{index:03d}.png'),
                pictures[index], maps.attention[index], maps.norm[index],
                maps.activity[index].tolist(), titles[index]))
    return paths

