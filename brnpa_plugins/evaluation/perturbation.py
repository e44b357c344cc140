"""Deletion and insertion: DAUC, IAUC, DC and IC (spec section 7).

Deletion removes the most salient patches first, setting them to 0 in the
normalised input space; insertion starts from a box-blurred image and pastes
the original patches back, most salient first. After each step the softmax
probability of the explained class is recorded. A map of h x w pixels is
changed in ``steps = ceil(h * w / per_step)`` steps of
``per_step = ceil(h * w / max_steps)`` map pixels (a 56 x 56 map: 196 steps
of 16), each step's pixels being the next ones of a top-k over the flattened
map (a stable sort, so ties go to the lower index). A curve has steps + 1
points, the first being the unperturbed start image (the original image for
deletion, the blurred one for insertion). Each map pixel covers an
(H / h) x (W / w) patch of the image, so h and w must divide the image size.
"""
import math
from typing import Dict, NamedTuple, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..core.checks import check_positive_int
from .scoring import check_batch_size, class_probabilities, resolve_targets

MODES = ('deletion', 'insertion')
#: The authors' step cap: a 14 x 14 map, one step per map pixel.
DEFAULT_MAX_STEPS = 196


class PerturbationCurve(NamedTuple):
    """One deletion or insertion curve per image.

    Attributes:
        mode: ``'deletion'`` or ``'insertion'``.
        scores: B x (steps + 1) probability of the explained class, from the
            unperturbed start image to the fully perturbed one.
        step_saliency: B x steps mean saliency of the map pixels changed at
            each step.
        target: B explained classes.
    """
    mode: str
    scores: Tensor
    step_saliency: Tensor
    target: Tensor


def check_images_and_maps(images: Tensor, saliency: Tensor) -> Tuple[int, int]:
    """Validate a batch of images and saliency maps for perturbation metrics.

    Args:
        images: B x C x H x W, B >= 1.
        saliency: B x h x w finite maps, with h dividing H and w dividing W.

    Returns:
        (patch height, patch width): the image pixels one map pixel covers.
    """
    if not isinstance(images, Tensor) or images.dim() != 4:
        raise ValueError('images must be a B x C x H x W tensor, got '
                         f'{tuple(getattr(images, "shape", ()))}')
    if len(images) == 0:
        raise ValueError('images is an empty batch (B = 0): there is nothing '
                         'to evaluate; pass at least one image.')
    if not isinstance(saliency, Tensor) or saliency.dim() != 3 \
            or len(saliency) != len(images):
        raise ValueError(
            f'saliency must be B x h x w with one map per image, got shape '
            f'{tuple(getattr(saliency, "shape", ()))} for {len(images)} '
            'images')
    (height, width), (rows, cols) = images.shape[-2:], saliency.shape[-2:]
    if rows == 0 or cols == 0 or height % rows or width % cols:
        raise ValueError(
            f'a {rows} x {cols} saliency map does not tile a {height} x '
            f'{width} image: each map pixel must cover a whole patch, so '
            'the map size must divide the image size. Resize the map, e.g. '
            'to the feature grid or to the image size.')
    if not torch.isfinite(saliency).all():
        bad = (~torch.isfinite(saliency)).flatten(1).any(dim=1)
        raise ValueError(
            f'saliency maps of images {bad.nonzero()[:, 0].tolist()} hold '
            'NaN or infinite values; fix the method that produced them.')
    return height // rows, width // cols


def step_plan(num_pixels: int, max_steps: int) -> Tuple[int, int]:
    """(map pixels changed per step, number of steps) for a map.

    >>> step_plan(56 * 56, 196)
    (16, 196)
    """
    check_positive_int(max_steps, 'max_steps', hint='the authors used 196.')
    per_step = math.ceil(num_pixels / max_steps)
    return per_step, math.ceil(num_pixels / per_step)


def blur_kernel_size(image_height: int) -> int:
    """The authors' box side: max(H // 5, 9), made odd."""
    size = max(image_height // 5, 9)
    return size + 1 - size % 2


def box_blur(images: Tensor, kernel_size: Optional[int] = None) -> Tensor:
    """Box-blur each channel with a square kernel and zero padding.

    Args:
        images: B x C x H x W.
        kernel_size: odd side of the box; defaults to
            :func:`blur_kernel_size` of the image height.
    """
    if kernel_size is None:
        kernel_size = blur_kernel_size(images.shape[-2])
    if not isinstance(kernel_size, int) or kernel_size < 1 \
            or kernel_size % 2 == 0:
        raise ValueError(f'blur kernel_size must be an odd integer >= 1, '
                         f'got {kernel_size!r}')
    # The box is separable; with zero padding counted in the mean, two 1-D
    # passes equal the 2-D box at a fraction of its cost for large kernels.
    half = kernel_size // 2
    out = F.avg_pool2d(images, (kernel_size, 1), stride=1, padding=(half, 0),
                       count_include_pad=True)
    return F.avg_pool2d(out, (1, kernel_size), stride=1, padding=(0, half),
                        count_include_pad=True)


def _step_of_pixels(saliency: Tensor, max_steps: int):
    """Step at which each map pixel changes, and each step's mean saliency."""
    flat = saliency.flatten(1).float()
    batch, num_pixels = flat.shape
    per_step, steps = step_plan(num_pixels, max_steps)
    order = flat.argsort(dim=1, descending=True, stable=True)
    step_of_rank = torch.arange(num_pixels, device=flat.device) // per_step
    step = torch.empty_like(order).scatter_(
        1, order, step_of_rank.expand(batch, -1))
    index = step_of_rank.expand(batch, -1)
    totals = flat.new_zeros(batch, steps).scatter_add_(
        1, index, flat.gather(1, order))
    counts = flat.new_zeros(steps).scatter_add_(
        0, step_of_rank, torch.ones_like(flat[0]))
    return step.reshape(saliency.shape), totals / counts, steps


def _step_scores(model: nn.Module, start: Tensor, fill: Union[Tensor, float],
                 pixel_step: Tensor, patch: Tuple[int, int],
                 steps: Sequence[int], target: Tensor,
                 batch_size: int) -> Tensor:
    """Probabilities of the images after each of ``steps`` steps: B x T.

    After t steps, the map pixels whose step is < t show ``fill`` and the
    others ``start``.
    """
    device = start.device
    steps = torch.as_tensor(list(steps), device=device)
    per_image = len(steps)

    def build(index: Tensor) -> Tensor:
        index = index.to(device)
        image = torch.div(index, per_image, rounding_mode='floor')
        changed = pixel_step[image] < steps[index % per_image, None, None]
        # Each map pixel covers a patch: expand it in one copy.
        count, rows, cols = changed.shape
        changed = changed[:, None, :, None, :, None].expand(
            count, 1, rows, patch[0], cols, patch[1]).reshape(
                count, 1, rows * patch[0], cols * patch[1])
        replacement = fill[image] if isinstance(fill, Tensor) else fill
        return torch.where(changed, replacement, start[image])

    scores = class_probabilities(model, build,
                                 len(start) * per_image,
                                 target.repeat_interleave(per_image),
                                 batch_size)
    return scores.reshape(len(start), per_image)


def perturbation_curves(model: nn.Module,
                        images: Tensor,
                        saliency: Tensor,
                        target: Optional[Tensor] = None,
                        modes: Sequence[str] = MODES,
                        max_steps: int = DEFAULT_MAX_STEPS,
                        batch_size: int = 64,
                        blur_kernel: Optional[int] = None
                        ) -> Dict[str, PerturbationCurve]:
    """Deletion and/or insertion curves of a batch of saliency maps.

    The unperturbed image is scored once and shared: it is the first point
    of the deletion curve and the last of the insertion curve. All other
    points are generated images, scored in batches of ``batch_size``.

    Args:
        model: maps normalised B x C x H x W images to B x K logits.
        images: B x C x H x W images in the model's (normalised) input space.
        saliency: B x h x w maps, higher = more important; h, w divide H, W.
        target: B classes to explain; None explains the class the model
            predicts on ``images``.
        modes: a subset of ``('deletion', 'insertion')``.
        max_steps: cap on the number of steps (196, as the authors).
        batch_size: most images per forward pass.
        blur_kernel: odd side of the insertion's box blur; defaults to
            max(H // 5, 9) made odd.

    Returns:
        dict mode -> :class:`PerturbationCurve`, with tensors on the CPU.
    """
    if isinstance(modes, str) or not modes or not set(modes) <= set(MODES):
        raise ValueError(f'modes must be a non-empty subset of {MODES}, '
                         f'got {modes!r}')
    patch = check_images_and_maps(images, saliency)
    check_batch_size(batch_size)
    target, original = resolve_targets(model, images, target, batch_size)
    pixel_step, step_saliency, steps = _step_of_pixels(
        saliency.to(images.device), max_steps)
    curves = {}
    for mode in MODES:
        if mode not in modes:
            continue
        if mode == 'deletion':
            changed = _step_scores(model, images, 0.0, pixel_step, patch,
                                   range(1, steps + 1), target, batch_size)
            scores = torch.cat([original[:, None], changed], dim=1)
        else:
            blurred = box_blur(images, blur_kernel)
            changed = _step_scores(model, blurred, images, pixel_step, patch,
                                   range(steps), target, batch_size)
            scores = torch.cat([changed, original[:, None]], dim=1)
        curves[mode] = PerturbationCurve(mode, scores, step_saliency.cpu(),
                                         target)
    return curves


def area_under_curve(scores: Tensor) -> Tensor:
    """Trapezoid-rule area of B x (steps + 1) curves over x in [0, 1]: B."""
    steps = scores.shape[1] - 1
    if steps < 1:
        raise ValueError('a curve needs at least 2 points, got '
                         f'{scores.shape[1]}')
    inner = scores.sum(dim=1) - (scores[:, 0] + scores[:, -1]) / 2
    return inner / steps


def saliency_correlation(curve: PerturbationCurve) -> Tensor:
    """DC (deletion) or IC (insertion): per-image Pearson correlation.

    It correlates, over the steps, the score change of each step (the drop
    for deletion, the gain for insertion) with the mean saliency of the
    pixels changed at that step. NaN where either is constant (e.g. a
    saturated score or a constant map), or with fewer than 2 steps.
    """
    change = curve.scores[:, 1:] - curve.scores[:, :-1]
    if curve.mode == 'deletion':
        change = -change
    change = change - change.mean(dim=1, keepdim=True)
    saliency = curve.step_saliency - curve.step_saliency.mean(dim=1,
                                                              keepdim=True)
    spread = change.norm(dim=1) * saliency.norm(dim=1)
    return (change * saliency).sum(dim=1) / spread


def _auc(mode, model, images, saliency, target, max_steps, batch_size,
         blur_kernel=None) -> Tensor:
    curve = perturbation_curves(model, images, saliency, target, (mode, ),
                                max_steps, batch_size, blur_kernel)[mode]
    return area_under_curve(curve.scores)


def deletion_auc(model: nn.Module,
                 images: Tensor,
                 saliency: Tensor,
                 target: Optional[Tensor] = None,
                 max_steps: int = DEFAULT_MAX_STEPS,
                 batch_size: int = 64) -> Tensor:
    """DAUC of each image (lower = more faithful map): Tensor[B].

    Arguments as in :func:`perturbation_curves`.
    """
    return _auc('deletion', model, images, saliency, target, max_steps,
                batch_size)


def insertion_auc(model: nn.Module,
                  images: Tensor,
                  saliency: Tensor,
                  target: Optional[Tensor] = None,
                  max_steps: int = DEFAULT_MAX_STEPS,
                  batch_size: int = 64,
                  blur_kernel: Optional[int] = None) -> Tensor:
    """IAUC of each image (higher = more faithful map): Tensor[B].

    Arguments as in :func:`perturbation_curves`.
    """
    return _auc('insertion', model, images, saliency, target, max_steps,
                batch_size, blur_kernel)
