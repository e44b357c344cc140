"""Draw ranked attention maps over an image and save them as PNG (spec 4).

:func:`render_ranked_maps` draws one row of equally sized panels, separated by
4 px white gaps, each upscaled (nearest neighbour, by one integer factor) so
that its shorter side is at least ``min_panel`` pixels:

1. the image, labelled with the title (``image`` when there is none);
2. an overlay with the maps ranked 1, 2 and 3 as its red, green and blue
   channels (``rank 1-3 as R,G,B``, fewer channels with fewer maps;
   ``map 1-3`` without activities), on the same common scale as 3.;
3. one heatmap per part, blended over the image. With activities the parts
   are sorted by decreasing activity (ties keep their given order) and
   labelled ``rank 1  act 0.55``, ``rank 2  act 0.52``, ..., so rank 1 always
   has the largest activity; without activities the given order is kept and
   the panels read ``map 1``, ``map 2``, ...; with ``contributions`` (each
   part's exact share of the explained class's logit,
   :func:`~brnpa_plugins.core.part_contributions`) a second line reads
   ``logit +1.23``;
4. a colour bar: a vertical strip of :func:`heat_colormap` from 0 (bottom) to
   1 (top) in the rightmost columns of the figure, labelled ``0`` at its
   bottom, half the common value at its middle and ``max <value>`` (with
   ``(attn x norm)``, or another ``value_name``, under it) at its top.

The map shown for part k is its attention map times the feature-norm map,
bilinearly upsampled to the image. It is not normalised per part: all maps of
the row (and the R, G, B overlay) are divided by one common value, the largest
attention x norm value of the row (1 when that is not positive), so a part
whose attention x norm is small looks cool next to the strongest part.
The ``max`` label of the colour bar is that common value.

Ground-truth ``outlines`` are boxes ``(x0, y0, x1, y1, kind)`` in pixel
coordinates of the image before upscaling, covering the pixels
``x0 <= x < x1`` and ``y0 <= y < y1``; they are drawn on every panel but the
colour bar, scaled with the panels: ``'decisive'`` boxes as a solid 2 px
bright green rectangle, ``'distractor'`` boxes as a dashed 2 px light grey
rectangle. Panel labels are drawn last, over the outlines.
"""
import os
from typing import Optional, Sequence, Tuple, Union

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from .io import atomic_write
from .maps import upsample

# Anchor colours of a perceptually ordered blue-cyan-yellow-red map.
_ANCHORS = np.array([[0, 0, 128], [0, 96, 255], [0, 220, 220], [255, 230, 0],
                     [255, 64, 0], [128, 0, 0]], dtype=np.float64)

GAP = 4  # white columns between two panels
OUTLINE_WIDTH = 2  # pixels, after upscaling
OUTLINE_COLOURS = {'decisive': (0, 255, 0), 'distractor': (220, 220, 220)}
OUTLINE_KINDS = tuple(OUTLINE_COLOURS)
_DASH = 4  # length of a dash and of the hole after it, in pixels
_BAR_STRIP = 16  # width of the colour strip of the colour bar
_WHITE = (255, 255, 255)

Outline = Tuple[float, float, float, float, str]


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


def _font() -> ImageFont.ImageFont:
    return ImageFont.load_default()


def _label(image: Image.Image, text: str) -> Image.Image:
    draw = ImageDraw.Draw(image)
    font = _font()
    box = draw.textbbox((2, 2), text, font=font)
    draw.rectangle((0, 0, box[2] + 2, box[3] + 2), fill=(0, 0, 0))
    draw.text((2, 2), text, fill=_WHITE, font=font)
    return image


def _check_outlines(outlines: Optional[Sequence[Outline]]) -> list:
    checked = []
    for index, outline in enumerate(outlines or ()):
        if len(outline) != 5:
            raise ValueError(
                f'outline {index} must be (x0, y0, x1, y1, kind), got '
                f'{outline!r}')
        *corners, kind = outline
        if kind not in OUTLINE_COLOURS:
            raise ValueError(
                f'outline {index} has unknown kind {kind!r}; allowed kinds '
                f'are {", ".join(repr(k) for k in OUTLINE_KINDS)}')
        x0, y0, x1, y1 = (float(c) for c in corners)
        if not (x1 > x0 and y1 > y0):
            raise ValueError(
                f'outline {index} must have x1 > x0 and y1 > y0, got '
                f'{outline!r}')
        checked.append((x0, y0, x1, y1, kind))
    return checked


def _outline_masks(outlines: list, scale: int,
                   shape: Tuple[int, int]) -> list:
    """One (boolean H x W mask, colour) per outline, for upscaled panels."""
    rows = np.arange(shape[0])[:, None]
    cols = np.arange(shape[1])[None, :]
    masks = []
    for x0, y0, x1, y1, kind in outlines:
        left, top = int(round(x0 * scale)), int(round(y0 * scale))
        right = int(round(x1 * scale)) - 1
        bottom = int(round(y1 * scale)) - 1
        width = min(OUTLINE_WIDTH, right - left + 1, bottom - top + 1)
        inside_x = (cols >= left) & (cols <= right)
        inside_y = (rows >= top) & (rows <= bottom)
        horizontal = inside_x & (((rows >= top) & (rows < top + width)) |
                                 ((rows <= bottom) & (rows > bottom - width)))
        vertical = inside_y & (((cols >= left) & (cols < left + width)) |
                               ((cols <= right) & (cols > right - width)))
        if kind == 'distractor':
            horizontal = horizontal & ((cols - left) // _DASH % 2 == 0)
            vertical = vertical & ((rows - top) // _DASH % 2 == 0)
        masks.append((horizontal | vertical, OUTLINE_COLOURS[kind]))
    return masks


def _upscaled(image: np.ndarray, scale: int, masks: list) -> np.ndarray:
    """``image`` upscaled (nearest) by ``scale``, the outline masks drawn."""
    image = np.kron(image, np.ones((scale, scale, 1), dtype=np.uint8))
    for mask, colour in masks:
        image[mask] = colour
    return image


def draw_outlines(image: Union[np.ndarray, Image.Image],
                  outlines: Sequence[Outline], scale: int = 1) -> np.ndarray:
    """``image`` (H x W x 3) upscaled (nearest) by the integer ``scale``,
    with ground-truth ``outlines`` drawn as :func:`render_ranked_maps`
    draws them (boxes in pixels of ``image``)."""
    image = _as_uint8_image(image)
    height, width = image.shape[:2]
    masks = _outline_masks(_check_outlines(outlines), scale,
                           (height * scale, width * scale))
    return _upscaled(image, scale, masks)


def _format_value(value: float) -> str:
    return f'{value:.3g}'


def _colour_bar(height: int, peak: float,
                value_name: str = 'attn x norm') -> np.ndarray:
    """White panel with labels on the left and the colour strip on the
    right: 1 (``max <peak>``) at the top, 0 at the bottom."""
    font = _font()
    texts = [(f'max {_format_value(peak)}', 0, 'ra', (0, 0, 0)),
             (f'({value_name})', 12, 'ra', (90, 90, 90)),
             (_format_value(peak / 2), height // 2, 'rm', (0, 0, 0)),
             ('0', height - 1, 'rd', (0, 0, 0))]
    # The widest label a '.3g' value gives, so that rows of different images
    # have colour bars of the same width.
    widest = 'max 8.88e-88'
    probe = ImageDraw.Draw(Image.new('RGB', (1, 1)))
    text_width = max(probe.textbbox((0, 0), text, font=font)[2]
                     for text in [widest] + [t for t, *_ in texts]) + 6
    panel = Image.new('RGB', (text_width + _BAR_STRIP, height), _WHITE)
    draw = ImageDraw.Draw(panel)
    for text, top, anchor, colour in texts:
        draw.text((text_width - 4, top), text, fill=colour, font=font,
                  anchor=anchor)
    array = np.array(panel)
    array[:, text_width:] = heat_colormap(
        np.linspace(1.0, 0.0, height))[:, None, :]
    # Tick marks at 1, 1/2 and 0 next to the strip.
    for row in (0, height // 2, height - 1):
        array[row, text_width - 3:text_width] = 0
    return array


def _per_map(values, name: str, attention: torch.Tensor):
    """``values`` as a float64 array of one value per map (None stays)."""
    if values is None:
        return None
    values = torch.as_tensor(values).detach().double().cpu().numpy()
    if values.ndim != 1 or len(values) != attention.shape[0]:
        raise ValueError(
            f'{name} must hold one value per map: got shape {values.shape} '
            f'for {attention.shape[0]} attention maps (attention '
            f'{tuple(attention.shape)})')
    return values


def render_ranked_maps(image: Union[np.ndarray, Image.Image],
                       attention: torch.Tensor,
                       norm: torch.Tensor,
                       activity: Optional[Sequence[float]] = None,
                       title: Optional[str] = None,
                       opacity: float = 0.6,
                       min_panel: int = 160,
                       outlines: Optional[Sequence[Outline]] = None,
                       contributions: Optional[Sequence[float]] = None,
                       value_name: str = 'attn x norm'
                       ) -> Image.Image:
    """Render one image's maps, ranked by activity, as a single PIL image.

    The layout is described in the module docstring.

    Args:
        image: H x W x 3 uint8 RGB image (or a PIL image).
        attention: N x h x w attention maps of this image, in any order.
        norm: h x w feature-norm map of this image.
        activity: N part activities; the maps are drawn by decreasing
            activity (stable) and labelled with their rank and activity.
            Without it the given order is kept.
        title: text on the first panel (e.g. the predicted class).
        opacity: weight of the heatmap over the image.
        min_panel: panels are upscaled (nearest) to at least this size so
            that labels stay readable on small images.
        outlines: ground-truth boxes ``(x0, y0, x1, y1, kind)`` in image
            pixels (before upscaling), ``kind`` being ``'decisive'`` (solid
            green) or ``'distractor'`` (dashed light grey).
        contributions: N values, in the order of ``attention``: what each
            part adds to the logit of the class the title names; drawn
            under each panel's label.
        value_name: what the maps measure, under the colour bar's ``max``
            (e.g. ``'saliency'`` for another method's map, drawn with
            ``norm`` all ones).

    Raises:
        ValueError: on wrongly shaped inputs, an ``activity`` or
            ``contributions`` whose length is not N, or a malformed outline
            or one of unknown kind.
    """
    image = _as_uint8_image(image)
    height, width = image.shape[:2]
    attention = torch.as_tensor(attention).detach().float().cpu()
    norm = torch.as_tensor(norm).detach().float().cpu()
    if (attention.dim() != 3 or norm.dim() != 2
            or attention.shape[-2:] != norm.shape):
        raise ValueError(
            'attention must be N x h x w and norm h x w with the same h x w, '
            f'got {tuple(attention.shape)} and {tuple(norm.shape)}')
    count = attention.shape[0]
    activity = _per_map(activity, 'activity', attention)
    contributions = _per_map(contributions, 'contributions', attention)
    if activity is not None:
        order = np.argsort(-activity, kind='stable')
        attention = attention[torch.as_tensor(order, dtype=torch.long)]
        activity = activity[order]
        if contributions is not None:
            contributions = contributions[order]
    outlines = _check_outlines(outlines)

    maps = torch.nan_to_num(attention * norm)
    peak = float(maps.max()) if maps.numel() else 0.0
    common = peak if peak > 0 else 1.0
    shown = upsample(maps / common, (height, width)).clamp(0, 1).numpy()
    base = image.astype(np.float64)

    rgb = np.zeros_like(base)
    for channel in range(min(3, count)):
        rgb[..., channel] = shown[channel] * 255
    name = 'rank' if activity is not None else 'map'
    channels = min(3, count)
    overlay_text = (f'{name} 1-{channels} as ' + ','.join('RGB'[:channels])
                    if channels > 1 else
                    f'{name} 1 as R' if channels else 'no maps')
    panels = [(image, title or 'image'),
              (((1 - opacity) * base + opacity * rgb).astype(np.uint8),
               overlay_text)]
    for index, part_map in enumerate(shown):
        heat = heat_colormap(part_map).astype(np.float64)
        panel = ((1 - opacity) * base + opacity * heat).astype(np.uint8)
        text = f'{name} {index + 1}'
        if activity is not None:
            text += f'  act {float(activity[index]):.2f}'
        if contributions is not None:
            text += f'\nlogit {float(contributions[index]):+.2f}'
        panels.append((panel, text))

    scale = max(1, int(np.ceil(min_panel / max(1, min(height, width)))))
    masks = _outline_masks(outlines, scale, (height * scale, width * scale))
    pieces = [np.asarray(_label(Image.fromarray(_upscaled(panel, scale,
                                                          masks)), text))
              for panel, text in panels]
    pieces.append(_colour_bar(pieces[0].shape[0], peak, value_name))
    gap = np.full((pieces[0].shape[0], GAP, 3), 255, dtype=np.uint8)
    row = [piece for p in pieces for piece in (p, gap)][:-1]
    return Image.fromarray(np.concatenate(row, axis=1))


def save_png(image: Image.Image, path: Union[str, os.PathLike]) -> str:
    """Write a PNG atomically: a crash never leaves a half-written file."""
    return atomic_write(path, lambda stream: image.save(stream, format='PNG'))


def save_ranked_maps(path: Union[str, os.PathLike], image, attention, norm,
                     activity=None, title=None, **options) -> str:
    """Render with :func:`render_ranked_maps` and save the PNG to ``path``.

    ``options`` (``opacity``, ``min_panel``, ``outlines``,
    ``contributions``) are passed on.
    """
    return save_png(
        render_ranked_maps(image, attention, norm, activity, title,
                           **options), path)
