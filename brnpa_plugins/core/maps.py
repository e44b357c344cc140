"""From attention maps to the maps that are shown and scored (spec 4 and 7)."""
from typing import Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor


def min_max_normalize(maps: Tensor, dims: int = 2) -> Tensor:
    """Scale each map (the last ``dims`` dimensions) to [0, 1].

    A constant map becomes all zeros rather than NaN.
    """
    flat = maps.flatten(-dims)
    low = flat.amin(dim=-1, keepdim=True)
    span = flat.amax(dim=-1, keepdim=True) - low
    span = torch.where(span > 0, span, torch.ones_like(span))
    return ((flat - low) / span).reshape(maps.shape)


def explanation_maps(attention: Tensor, norm: Tensor) -> Tensor:
    """The maps BR-NPA shows: attention k times the feature-norm map.

    Args:
        attention: ... x N x H x W attention maps.
        norm: ... x H x W feature norm map.

    Returns:
        ... x N x H x W maps, each min-max normalised to [0, 1].
    """
    return min_max_normalize(attention * norm.unsqueeze(-3))


def rank_parts(activity: Tensor, *parts: Tensor) -> Tuple[Tensor, ...]:
    """Per-part tensors sorted by decreasing activity; ties keep their order.

    Args:
        activity: ... x N activity of each of the N parts.
        parts: tensors of shape ... x N x (any trailing dimensions): maps
            (... x N x H x W), part vectors (... x N x C), seeds (... x N),
            the activity itself.

    Returns:
        The tensors of ``parts``, in the order given, with their parts in
        the order of decreasing activity.
    """
    order = activity.argsort(dim=-1, descending=True, stable=True)
    part_dim = activity.dim() - 1
    return tuple(
        part.gather(part_dim, order.reshape(
            *order.shape, *[1] * (part.dim() - order.dim())).expand_as(part))
        for part in parts)


def rank_by_activity(attention: Tensor, activity: Tensor) -> Tensor:
    """... x N x H x W maps sorted by decreasing ``activity`` (... x N);
    ties keep their order."""
    return rank_parts(activity, attention)[0]


def top_ranked(attention: Tensor, activity: Optional[Tensor] = None,
               maps: Optional[int] = 1) -> Tensor:
    """The sum of the ``maps`` most active maps: B x N x H x W -> B x H x W.

    The rank is the part's activity when ``activity`` (B x N) is given, the
    order of the maps otherwise; ``maps=None`` sums all N.
    """
    if activity is not None:
        attention = rank_by_activity(attention, activity)
    return attention[:, :maps].sum(dim=1)


def saliency_map(attention: Tensor, norm: Tensor,
                 activity: Optional[Tensor] = None,
                 maps: Optional[int] = 1) -> Tensor:
    """Saliency of an attention model for evaluation (spec section 7).

    The top-ranked map (the most active one when ``activity`` is given)
    times the norm map, min-max normalised: B x H x W. ``maps`` sums that
    many top-ranked maps first (None: all of them).
    """
    return min_max_normalize(top_ranked(attention, activity, maps) * norm)


def upsample(maps: Tensor, size: Union[int, Sequence[int]]) -> Tensor:
    """Bilinearly resize ... x H x W maps to ``size`` (the image's H, W)."""
    shape = maps.shape
    flat = maps.reshape(-1, 1, *shape[-2:]).float()
    out = F.interpolate(flat, size=size, mode='bilinear', align_corners=False)
    return out.reshape(*shape[:-2], *out.shape[-2:])
