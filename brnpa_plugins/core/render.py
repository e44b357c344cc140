"""Draw ranked attention maps over an image and save them as PNG (spec 4).

The figure is one row: the image, an overlay with the three top-ranked maps as
its red, green and blue channels, then one heatmap per part labelled with its
rank and activity.
"""
import os
from typing import Optional, Sequence, Union

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from .io import atomic_write
from .maps import explanation_maps, upsample

# Anchor colours of a perceptually ordered blue-cyan-yellow-red map.
_ANCHORS = np.array([[0, 0, 128], [0, 96, 255], [0, 220, 220], [255, 230, 0],
                     [255, 64, 0], [128, 0, 0]], dtype=np.float64)


def heat_colormap(values: np.ndarray) -> np.ndarray:
    """Map values in [0, 1] (any shape) to uint8 RGB (shape + (3,))."""
    values = np.clip(np.nan_to_num(values), 0.0, 1.0) * (len(_ANCHORS) - 1)
    low = np.floor(values).astype(int)
    high = np.minimum(low + 1, len(_ANCHORS) - 1)
    frac = (values - low)[..., None]
    rgb = _ANCHORS[low] * (1 - frac) + _ANCHORS[high] * frac
    return rgb.round().astype(np.uint8)


def _as_uint8_image(image: Union[np.ndarray, Image.Image]) -> np.ndarray:
    array = np.asarray(image)
    if array.ndim == 2:
        array = np.repeat(array[..., None], 3, axis=2)
    if array.ndim != 3 or array.shape[2] not in (3, 4):
        raise ValueError('image must be H x W x 3 (RGB), got shape '
                         f'{array.shape}')
    array = array[..., :3]
    if array.dtype != np.uint8:
        array = np.clip(array, 0, 255).astype(np.uint8)
    return array


def _label(panel: np.ndarray, text: str) -> Image.Image:
    image = Image.fromarray(panel)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default()
    box = draw.textbbox((2, 2), text, font=font)
    draw.rectangle((0, 0, box[2] + 2, box[3] + 2), fill=(0, 0, 0))
    draw.text((2, 2), text, fill=(255, 255, 255), font=font)
    return image


def render_ranked_maps(image: Union[np.ndarray, Image.Image],
                       attention: torch.Tensor,
                       norm: torch.Tensor,
                       activity: Optional[Sequence[float]] = None,
                       title: Optional[str] = None,
                       opacity: float = 0.6,
                       min_panel: int = 160) -> Image.Image:
    """Render one image's ranked maps as a single PIL image.

    Args:
        image: H x W x 3 uint8 RGB image (or a PIL image).
        attention: N x h x w attention maps of this image, in rank order.
        norm: h x w feature-norm map of this image.
        activity: N part activities written on the panels.
        title: text on the first panel (e.g. the predicted class).
        opacity: weight of the heatmap over the image.
        min_panel: panels are upscaled (nearest) to at least this size so
            that labels stay readable on small images.
    """
    image = _as_uint8_image(image)
    height, width = image.shape[:2]
    attention = attention.detach().float().cpu()
    norm = norm.detach().float().cpu()
    if attention.dim() != 3 or attention.shape[-2:] != norm.shape[-2:]:
        raise ValueError(
            'attention must be N x h x w and norm h x w with the same h x w, '
            f'got {tuple(attention.shape)} and {tuple(norm.shape)}')
    shown = upsample(explanation_maps(attention, norm), (height, width))
    shown = shown.clamp(0, 1).numpy()
    base = image.astype(np.float64)

    rgb = np.zeros_like(base)
    for channel in range(min(3, len(shown))):
        rgb[..., channel] = shown[channel] * 255
    panels = [(image, title or 'image'),
              (((1 - opacity) * base + opacity * rgb).astype(np.uint8),
               'top-3 as R,G,B')]
    for rank, part_map in enumerate(shown):
        heat = heat_colormap(part_map).astype(np.float64)
        panel = ((1 - opacity) * base + opacity * heat).astype(np.uint8)
        text = f'#{rank + 1}'
        if activity is not None:
            text += f' act {float(activity[rank]):.2f}'
        panels.append((panel, text))

    scale = max(1, int(np.ceil(min_panel / max(1, min(height, width)))))
    pieces = []
    for panel, text in panels:
        if scale > 1:
            panel = np.kron(panel, np.ones((scale, scale, 1), dtype=np.uint8))
        pieces.append(np.asarray(_label(panel, text)))
    gap = np.full((pieces[0].shape[0], 4, 3), 255, dtype=np.uint8)
    row = [piece for p in pieces for piece in (p, gap)][:-1]
    return Image.fromarray(np.concatenate(row, axis=1))


def save_png(image: Image.Image, path: Union[str, os.PathLike]) -> str:
    """Write a PNG atomically: a crash never leaves a half-written file."""
    return atomic_write(path, lambda stream: image.save(stream, format='PNG'))


def save_ranked_maps(path: Union[str, os.PathLike], image, attention, norm,
                     activity=None, title=None) -> str:
    """Render with :func:`render_ranked_maps` and save the PNG to ``path``."""
    return save_png(
        render_ranked_maps(image, attention, norm, activity, title), path)
