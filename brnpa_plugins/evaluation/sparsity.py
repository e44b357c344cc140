"""Sparsity of saliency maps (spec section 7): higher = more concentrated."""
import torch
from torch import Tensor

from ..core.maps import min_max_normalize


def sparsity(saliency: Tensor) -> Tensor:
    """max / mean of each min-max normalised map: Tensor[B].

    A constant map, which concentrates on nothing, scores 1 (its max equals
    its mean); a map that is 1 on a single of P pixels and 0 elsewhere
    scores P.

    Args:
        saliency: B x h x w maps.
    """
    if saliency.dim() != 3:
        raise ValueError('saliency must be B x h x w, got shape '
                         f'{tuple(saliency.shape)}')
    if not torch.isfinite(saliency).all():
        raise ValueError('saliency holds NaN or infinite values; fix the '
                         'method that produced the maps.')
    flat = min_max_normalize(saliency.float()).flatten(1)
    mean = flat.mean(dim=1)
    peak = flat.amax(dim=1)
    return torch.where(mean > 0, peak / mean.clamp_min(1e-12),
                       torch.ones_like(mean))
