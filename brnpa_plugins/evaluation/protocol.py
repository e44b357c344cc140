"""The whole interpretability protocol on one batch (spec section 7)."""
from typing import Dict, NamedTuple, Optional

from torch import Tensor, nn

from .confidence import confidence_change
from .perturbation import (DEFAULT_MAX_STEPS, PerturbationCurve,
                           area_under_curve, perturbation_curves,
                           saliency_correlation)
from .sparsity import sparsity

#: Per-image scores of :func:`evaluate_maps` and whether higher is better.
HIGHER_IS_BETTER = {
    'dauc': False,
    'iauc': True,
    'dc': True,
    'ic': True,
    'avg_drop': False,
    'avg_increase': True,
    'sparsity': True,
}


class MapEvaluation(NamedTuple):
    """What :func:`evaluate_maps` returns.

    Attributes:
        scores: metric name (the keys of :data:`HIGHER_IS_BETTER`) ->
            Tensor[B] of per-image values (``dc``/``ic`` may hold NaN, see
            :func:`saliency_correlation`).
        curves: ``'deletion'`` / ``'insertion'`` -> the curves.
    """
    scores: Dict[str, Tensor]
    curves: Dict[str, PerturbationCurve]


def evaluate_maps(model: nn.Module,
                  images: Tensor,
                  saliency: Tensor,
                  target: Optional[Tensor] = None,
                  max_steps: int = DEFAULT_MAX_STEPS,
                  batch_size: int = 64,
                  blur_kernel: Optional[int] = None) -> MapEvaluation:
    """DAUC, IAUC, DC, IC, average drop / increase and sparsity per image.

    Arguments as in :func:`perturbation_curves`; the target defaults to the
    class predicted on the unperturbed images.
    """
    curves = perturbation_curves(model, images, saliency, target,
                                 max_steps=max_steps, batch_size=batch_size,
                                 blur_kernel=blur_kernel)
    deletion, insertion = curves['deletion'], curves['insertion']
    confidence = confidence_change(model, images, saliency, deletion.target,
                                   batch_size)
    scores = {
        'dauc': area_under_curve(deletion.scores),
        'iauc': area_under_curve(insertion.scores),
        'dc': saliency_correlation(deletion),
        'ic': saliency_correlation(insertion),
        'avg_drop': confidence.drop,
        'avg_increase': confidence.increase,
        'sparsity': sparsity(saliency).cpu(),
    }
    return MapEvaluation(scores, curves)
