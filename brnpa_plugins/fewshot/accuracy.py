"""Few-shot accuracy: per episode, over episodes with its 95% interval, and
in percent as papers print it."""
import math
from typing import NamedTuple

from torch import Tensor


class Accuracy(NamedTuple):
    """Mean episode accuracy and the half-width of its 95% interval."""
    mean: float
    ci95: float
    episodes: int


def query_accuracy(logits: Tensor, labels: Tensor) -> Tensor:
    """The fraction of rows of ``logits`` whose top class is ``labels``."""
    return (logits.argmax(dim=1) == labels).float().mean()


def confidence_interval(values: Tensor) -> Accuracy:
    """Mean accuracy over episodes and the half-width of its 95% interval
    (Student t, :func:`brnpa_plugins.evaluation.statistics.mean_interval`;
    0 for a single episode)."""
    from ..evaluation.statistics import mean_interval
    interval = mean_interval(values.double().cpu().numpy())
    half = (interval.high - interval.low) / 2
    return Accuracy(interval.mean, half if math.isfinite(half) else 0.0,
                    interval.count)


def percent_result(accuracy: Accuracy, decimals: int = 1) -> dict:
    """An accuracy in percent, as papers print it.

    Returns:
        ``{'accuracy_pct': mean in %, 'ci95_pct': half-width of the 95%
        interval in %, 'result': '62.3 ± 0.8'}`` (``decimals`` places in
        ``result``; the two numbers are not rounded).
    """
    return format_result(100 * accuracy.mean, 100 * accuracy.ci95, decimals)


def format_result(mean_pct: float, ci95_pct: float,
                  decimals: int = 1) -> dict:
    """``{'accuracy_pct', 'ci95_pct', 'result'}`` of an accuracy already in
    percent (see :func:`percent_result`)."""
    return {'accuracy_pct': mean_pct, 'ci95_pct': ci95_pct,
            'result': f'{mean_pct:.{decimals}f} \u00b1 '
                      f'{ci95_pct:.{decimals}f}'}
