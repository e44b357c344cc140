"""Scores of saliency maps against known evidence, and by intervention.

On a dataset whose decisive parts and distractors are known (the generated
benchmark, :mod:`brnpa_plugins.data.synthetic`), a map can be scored on what
it *should* show, and a model's true use of each object can be measured by
removing it:

- :func:`decisive_pointing`: the map's peak lies on a decisive part (a peak
  on a distractor is a miss), within a tolerance scaled to the part size;
- :func:`decisive_energy`: the share of the map's mass inside decisive boxes;
- :func:`part_coverage`: for N maps, the share of decisive parts that are
  the main object of some map (do different maps show different parts?);
- :func:`object_mass` and :func:`intervention_drops` feed
  :func:`rank_correlation`, the per-image Spearman correlation between the
  mass a map puts on each object and the drop of the explained class's
  probability when that object is removed (part-level faithfulness; drops
  below :data:`DROP_TIE` are tied, :func:`tie_small_drops`);
- :func:`randomised_copy` and :func:`map_similarity`: the model-parameter
  randomisation check (Adebayo et al., 2018): maps of a trained network and
  of the same network with re-initialised weights should differ;
  :func:`cascading_copies`: the cascading version, layers re-initialised
  from the output down.

Maps are B x h x w, non-negative, higher = more salient; they are upsampled
bilinearly to the image and compared with boxes in input pixels.
"""
import copy
from typing import List, NamedTuple, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor, nn

from ..core.maps import upsample
from .pointing import map_peaks
from .scoring import class_probabilities


class GroundTruth(NamedTuple):
    """Objects of a batch of images, padded to the most objects K.

    Attributes:
        boxes: B x K x 4 (x0, y0, x1, y1) in input pixels, x1/y1 exclusive.
        decisive: B x K bool, True for a decisive part.
        valid: B x K bool, False for padding.
    """
    boxes: Tensor
    decisive: Tensor
    valid: Tensor

    @classmethod
    def from_objects(cls, objects: Sequence[Tuple[np.ndarray, np.ndarray]],
                     scales: Optional[Sequence[Tuple[float, float]]] = None
                     ) -> 'GroundTruth':
        """Stack per-image ``(boxes K_i x 4, decisive K_i)`` pairs.

        Args:
            objects: as :func:`brnpa_plugins.data.synthetic.load_objects`
                gives them, one pair per image.
            scales: per-image (x, y) factors from file pixels to input
                pixels (a resized input); None keeps the boxes as they are.
        """
        most = max([len(d) for _, d in objects] + [1])
        boxes = torch.zeros(len(objects), most, 4)
        decisive = torch.zeros(len(objects), most, dtype=torch.bool)
        valid = torch.zeros(len(objects), most, dtype=torch.bool)
        for index, (image_boxes, roles) in enumerate(objects):
            count = len(roles)
            factor = np.ones(4) if scales is None else np.tile(
                np.asarray(scales[index], dtype=np.float64), 2)
            boxes[index, :count] = torch.as_tensor(
                np.asarray(image_boxes, dtype=np.float64) * factor)
            decisive[index, :count] = torch.as_tensor(np.asarray(roles,
                                                                 dtype=bool))
            valid[index, :count] = True
        return cls(boxes, decisive, valid)

    def to(self, device) -> 'GroundTruth':
        return GroundTruth(*(t.to(device) for t in self))


def box_masks(truth: GroundTruth, image_size: Tuple[int, int],
              margin: float = 0.0) -> Tensor:
    """B x K x H x W: which pixel centres lie in each box (grown by
    ``margin`` pixels on every side); padding boxes are empty."""
    height, width = image_size
    device = truth.boxes.device
    ys = torch.arange(height, device=device, dtype=torch.float32) + 0.5
    xs = torch.arange(width, device=device, dtype=torch.float32) + 0.5
    x0, y0, x1, y1 = (truth.boxes[..., i, None, None] for i in range(4))
    inside_y = (ys[:, None] >= y0 - margin) & (ys[:, None] < y1 + margin)
    inside_x = (xs[None, :] >= x0 - margin) & (xs[None, :] < x1 + margin)
    return inside_y & inside_x & truth.valid[..., None, None]


def role_mask(truth: GroundTruth, image_size: Tuple[int, int],
              decisive: bool = True) -> Tensor:
    """B x H x W union of the decisive (or distractor) boxes."""
    chosen = truth.decisive if decisive else ~truth.decisive & truth.valid
    masks = box_masks(truth, image_size) & chosen[..., None, None]
    return masks.any(dim=1)


def _mass(saliency: Tensor, image_size: Tuple[int, int]) -> Tensor:
    """The maps upsampled to the image, each shifted so that its minimum is
    0: B x H x W.

    Shares of this mass do not depend on a map's offset or scale, so every
    method is scored on the same normalisation (a min-max one): a map that
    is a constant plus its signal (RISE's probabilities, a softmax) is not
    diluted by the constant, nor a map with negative values clipped.
    """
    if saliency.dim() != 3:
        raise ValueError(f'saliency must be B x h x w, got shape '
                         f'{tuple(saliency.shape)}')
    mass = upsample(saliency.detach().float(), tuple(image_size))
    return mass - mass.flatten(1).amin(dim=1)[:, None, None]


def decisive_pointing(saliency: Tensor, truth: GroundTruth,
                      image_size: Tuple[int, int],
                      tolerance: float) -> Tensor:
    """1.0 where the map's peak lies in a decisive box grown by
    ``tolerance`` pixels, else 0.0 (a peak on a distractor is a miss).

    Returns:
        Tensor[B]; NaN for an image without decisive parts.
    """
    peaks = map_peaks(saliency, image_size).to(truth.boxes.device)  # x, y
    x, y = peaks[:, 0, None], peaks[:, 1, None]
    boxes = truth.boxes
    inside = (x >= boxes[..., 0] - tolerance) & \
        (x < boxes[..., 2] + tolerance) & \
        (y >= boxes[..., 1] - tolerance) & (y < boxes[..., 3] + tolerance)
    hit = (inside & truth.decisive).any(dim=1).float()
    has_parts = truth.decisive.any(dim=1)
    return torch.where(has_parts, hit, torch.full_like(hit, float('nan')))


def object_mass(saliency: Tensor, truth: GroundTruth,
                image_size: Tuple[int, int]) -> Tensor:
    """B x K: share of each map's mass inside each object's box.

    NaN for padding, and for every object of an all-zero map.
    """
    mass = _mass(saliency, image_size).to(truth.boxes.device)
    total = mass.flatten(1).sum(dim=1)
    inside = torch.einsum('bhw,bkhw->bk', mass,
                          box_masks(truth, image_size).float())
    share = inside / total.clamp_min(1e-12)[:, None]
    bad = ~truth.valid | (total <= 0)[:, None]
    return share.masked_fill(bad, float('nan'))


def decisive_energy(saliency: Tensor, truth: GroundTruth,
                    image_size: Tuple[int, int]) -> Tensor:
    """Share of the map's mass inside the decisive boxes: Tensor[B].

    NaN for an all-zero map and, as :func:`decisive_pointing`, for an image
    without decisive parts.
    """
    mass = _mass(saliency, image_size).to(truth.boxes.device)
    total = mass.flatten(1).sum(dim=1)
    inside = (mass * role_mask(truth, image_size)).flatten(1).sum(dim=1)
    energy = inside / total.clamp_min(1e-12)
    scored = (total > 0) & truth.decisive.any(dim=1)
    return torch.where(scored, energy, torch.full_like(energy, float('nan')))


def part_coverage(maps: Tensor, truth: GroundTruth,
                  image_size: Tuple[int, int]) -> Tensor:
    """Do N maps show N different decisive parts?

    Each map is assigned to the object that receives most of its mass; the
    score is the number of distinct decisive parts so assigned, divided by
    min(N, decisive parts of the image).

    Args:
        maps: B x N x h x w (N >= 2), e.g. the ranked attention maps.

    Returns:
        Tensor[B] in [0, 1]; NaN for images without decisive parts.
    """
    if maps.dim() != 4 or maps.shape[1] < 2:
        raise ValueError(f'part_coverage needs B x N x h x w maps with '
                         f'N >= 2, got shape {tuple(maps.shape)}')
    batch, count = maps.shape[:2]
    flat = maps.reshape(batch * count, *maps.shape[2:])
    repeated = GroundTruth(*(t.repeat_interleave(count, dim=0)
                             for t in truth))
    share = object_mass(flat, repeated, image_size).nan_to_num(-1.0)
    best = share.argmax(dim=1).reshape(batch, count)  # object of each map
    chosen = torch.zeros_like(truth.decisive)
    chosen.scatter_(1, best, True)
    shown = (chosen & truth.decisive).sum(dim=1).float()
    parts = truth.decisive.sum(dim=1).float()
    score = shown / torch.minimum(parts, torch.tensor(float(count)))
    return torch.where(parts > 0, score, torch.full_like(score, float('nan')))


def intervention_drops(model: nn.Module, images: Tensor, variants: Tensor,
                       targets: Tensor, valid: Optional[Tensor] = None,
                       batch_size: int = 64) -> Tensor:
    """How much the target's probability falls when each object is changed.

    Args:
        model: maps normalised images to logits.
        images: B x C x H x W normalised originals.
        variants: B x K x C x H x W normalised images, variant k of image b
            with object k removed (or otherwise changed).
        targets: B classes whose probability is read.
        valid: B x K bool, False where variant k does not exist.
        batch_size: most images per forward pass.

    Returns:
        B x K: p(original) - p(variant); NaN where not valid.
    """
    batch, count = variants.shape[:2]
    if variants.shape[0] != len(images) or variants.shape[2:] != \
            images.shape[1:]:
        raise ValueError(
            f'variants must be B x K x C x H x W for images of shape '
            f'{tuple(images.shape)}, got {tuple(variants.shape)}')
    targets = torch.as_tensor(targets).long().cpu()
    flat = variants.reshape(batch * count, *variants.shape[2:])
    original = class_probabilities(model, lambda i: images[i.to(
        images.device)], batch, targets, batch_size)
    changed = class_probabilities(
        model, lambda i: flat[i.to(flat.device)], batch * count,
        targets.repeat_interleave(count), batch_size).reshape(batch, count)
    drops = original[:, None] - changed
    if valid is not None:
        drops = drops.masked_fill(~valid.cpu(), float('nan'))
    return drops


#: Probability drops smaller than this (in absolute value) are noise: they
#: are tied at 0 before faithfulness ranks the objects, so that the order of
#: the distractors' near-zero drops does not count.
DROP_TIE = 0.01


def tie_small_drops(drops: Tensor, tie: float = DROP_TIE) -> Tensor:
    """``drops`` with every entry of absolute value below ``tie`` set to 0
    (NaN kept). An image where no object's removal moves the probability by
    ``tie`` becomes constant, and its faithfulness is not defined (NaN)."""
    return torch.where(drops.abs() < tie, torch.zeros_like(drops), drops)


def model_decisive(truth: GroundTruth, drops: Tensor,
                   tie: float = DROP_TIE) -> GroundTruth:
    """The model's own most decisive object, by intervention: per image,
    the object whose removal lowers the explained class's probability most,
    as the only "decisive" box of ``truth`` (none where no removal lowers
    it by ``tie``, so that pointing on it is NaN there).

    Args:
        drops: B x K, as :func:`intervention_drops` gives them.
    """
    drops = drops.to(truth.boxes.device)
    ranked = drops.masked_fill(~truth.valid | drops.isnan(), float('-inf'))
    best = ranked.argmax(dim=1)
    rows = torch.arange(len(best), device=best.device)
    decisive = torch.zeros_like(truth.decisive)
    decisive[rows, best] = ranked[rows, best] >= tie
    return GroundTruth(truth.boxes, decisive, truth.valid)


def rank_correlation(first: Tensor, second: Tensor) -> Tensor:
    """Spearman correlation of each row pair, over entries finite in both.

    Ties get their average rank. NaN for a row with fewer than 3 such
    entries or where either row is constant.

    Args:
        first, second: B x K.

    Returns:
        Tensor[B].
    """
    from scipy.stats import rankdata
    a = first.detach().double().cpu().numpy()
    b = second.detach().double().cpu().numpy()
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f'rank_correlation needs two B x K arrays of the '
                         f'same shape, got {a.shape} and {b.shape}')
    keep = np.isfinite(a) & np.isfinite(b)
    a, b = np.where(keep, a, np.nan), np.where(keep, b, np.nan)
    ra = rankdata(a, axis=1, nan_policy='omit')
    rb = rankdata(b, axis=1, nan_policy='omit')
    count = keep.sum(axis=1)
    with np.errstate(invalid='ignore', divide='ignore'):
        ra = ra - np.nanmean(ra, axis=1, keepdims=True)
        rb = rb - np.nanmean(rb, axis=1, keepdims=True)
        numerator = np.nansum(ra * rb, axis=1)
        denominator = np.sqrt(np.nansum(ra**2, axis=1) *
                              np.nansum(rb**2, axis=1))
        rho = numerator / denominator
    rho[(count < 3) | ~(denominator > 0)] = np.nan
    return torch.from_numpy(rho).float()


def map_similarity(first: Tensor, second: Tensor) -> Tensor:
    """Spearman correlation between two maps of each image: Tensor[B].

    Maps of different resolutions are compared at the larger one
    (bilinear upsampling).
    """
    size = max(first.shape[-2:], second.shape[-2:])
    return rank_correlation(upsample(first.float(), size).flatten(1),
                            upsample(second.float(), size).flatten(1))


@torch.no_grad()
def randomised_copy(model: nn.Module, seed: int = 0) -> nn.Module:
    """A copy of ``model`` with every layer re-initialised (all at once).

    The full randomisation of Adebayo et al. (2018): each submodule with a
    ``reset_parameters`` method draws new weights (batch norms forget their
    statistics), seeded; the copy is in eval mode.
    """
    randomised = copy.deepcopy(model)
    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        for module in randomised.modules():
            _reset(module)
    finally:
        torch.random.set_rng_state(state)
    return randomised.eval()


def _reset(module: nn.Module) -> None:
    reset = getattr(module, 'reset_parameters', None)
    if callable(reset):
        reset()


def cascade_layers(model: nn.Module) -> List[str]:
    """Names of the layers a cascading randomisation re-initialises, from
    the input to the output: every module with weights of its own and a
    ``reset_parameters`` method, in the model's order."""
    return [name for name, module in model.named_modules()
            if callable(getattr(module, 'reset_parameters', None))
            and any(True for _ in module.parameters(recurse=False))]


@torch.no_grad()
def cascading_copies(model: nn.Module, steps: int = 4,
                     seed: int = 0) -> List[Tuple[str, int, nn.Module]]:
    """The cascading randomisation of Adebayo et al. (2018), in ``steps``.

    Copy ``i`` of ``steps`` has the last ``ceil(L * i / steps)`` of the
    ``L`` layers of :func:`cascade_layers` re-initialised (from the output
    down; the last copy has all of them), seeded, in eval mode.

    Returns:
        (name of the lowest re-initialised layer, number of re-initialised
        layers, the copy), from the top layer down to all of them.
    """
    names = cascade_layers(model)
    if not names:
        raise ValueError('cascading randomisation needs layers with '
                         'reset_parameters (convolutions, linear layers, '
                         'norms); the model has none')
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f'steps must be an integer >= 1, got {steps!r}')
    counts = sorted({max(1, -(-len(names) * i // steps))
                     for i in range(1, steps + 1)})
    state = torch.random.get_rng_state()
    copies = []
    try:
        for count in counts:
            torch.manual_seed(seed)
            randomised = copy.deepcopy(model)
            modules = dict(randomised.named_modules())
            for name in reversed(names[-count:]):
                _reset(modules[name])
            copies.append((names[-count], count, randomised.eval()))
    finally:
        torch.random.set_rng_state(state)
    return copies
