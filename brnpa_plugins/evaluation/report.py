"""Summaries of per-image scores: tables (Markdown, CSV) and mean curves.

Each metric is reported per method as its mean over images with a 95%
confidence interval (Student t) and the p-value of Welch's t-test against a
reference method, as the authors compared methods over per-image scores.
NaN scores (e.g. a correlation on a constant curve) are left out and the
number of images kept is reported.
"""
import csv
import io
import math
from typing import Dict, List, Mapping, NamedTuple, Optional, Sequence

import numpy as np
import torch
from scipy import stats

from ..core.io import atomic_write
from ..core.render import save_png
from .perturbation import area_under_curve


class Summary(NamedTuple):
    """One cell of the table: a metric of a method."""
    method: str
    metric: str
    mean: float
    low: float  # 95% interval
    high: float
    count: int
    p_value: float  # Welch's t-test against the reference; NaN for itself


def _finite(values) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    return values[np.isfinite(values)]


def mean_interval(values, confidence: float = 0.95):
    """(mean, low, high, count) of the finite values, Student-t interval."""
    values = _finite(values)
    count = len(values)
    if count == 0:
        return math.nan, math.nan, math.nan, 0
    mean = float(values.mean())
    if count < 2:
        return mean, math.nan, math.nan, count
    half = stats.t.ppf((1 + confidence) / 2, count - 1) * stats.sem(values)
    half = 0.0 if not np.isfinite(half) else float(half)
    return mean, mean - half, mean + half, count


def welch_p_value(values, reference) -> float:
    """Two-sided p-value of Welch's t-test between two samples (NaN-free)."""
    values, reference = _finite(values), _finite(reference)
    if len(values) < 2 or len(reference) < 2:
        return math.nan
    return float(stats.ttest_ind(values, reference, equal_var=False).pvalue)


def summarize(scores: Mapping[str, Mapping[str, Sequence[float]]],
              reference: Optional[str] = None) -> List[Summary]:
    """Summaries of ``scores[method][metric]`` (per-image values).

    Args:
        scores: method -> metric -> per-image values.
        reference: the method the others are tested against; defaults to
            the first method.
    """
    methods = list(scores)
    if not methods:
        raise ValueError('no method to summarise')
    reference = reference or methods[0]
    if reference not in scores:
        raise ValueError(f'reference method {reference!r} is not among '
                         f'{methods}')
    rows = []
    for method in methods:
        for metric, values in scores[method].items():
            mean, low, high, count = mean_interval(values)
            p_value = math.nan
            if method != reference and metric in scores[reference]:
                p_value = welch_p_value(values, scores[reference][metric])
            rows.append(
                Summary(method, metric, mean, low, high, count, p_value))
    return rows


def _metrics_in_order(rows: Sequence[Summary]) -> List[str]:
    return list(dict.fromkeys(row.metric for row in rows))


def _label(metric: str, higher_is_better: Mapping[str, bool]) -> str:
    arrow = {True: ' ↑', False: ' ↓'}.get(higher_is_better.get(metric), '')
    return metric.upper() + arrow


def markdown_table(rows: Sequence[Summary],
                   higher_is_better: Optional[Mapping[str, bool]] = None
                   ) -> str:
    """A Markdown table: one row per method, one column per metric.

    A cell reads ``mean [low, high]`` and, for methods other than the
    reference, the Welch p-value against it; a cell whose metric kept fewer
    images than the method's others (NaN scores) adds ``n=``. Header arrows
    say which way is better.
    """
    higher_is_better = higher_is_better or {}
    metrics = _metrics_in_order(rows)
    images = {}
    for row in rows:
        images[row.method] = max(images.get(row.method, 0), row.count)
    cells: Dict[str, Dict[str, str]] = {}
    for row in rows:
        text = f'{row.mean:.3f} [{row.low:.3f}, {row.high:.3f}]'
        if not math.isnan(row.p_value):
            text += f' p={row.p_value:.2g}'
        if row.count < images[row.method]:
            text += f' n={row.count}'
        cells.setdefault(row.method, {})[row.metric] = text
    lines = [
        '| method | images | ' + ' | '.join(
            _label(m, higher_is_better) for m in metrics) + ' |',
        '|---|---|' + '---|' * len(metrics)
    ]
    for method, row_cells in cells.items():
        lines.append(f'| {method} | {images[method]} | ' + ' | '.join(
            row_cells.get(m, '') for m in metrics) + ' |')
    return '\n'.join(lines) + '\n'


def write_text(path: str, text: str) -> str:
    """Write a text file atomically (temp file + rename)."""
    return atomic_write(path, lambda stream: stream.write(text), mode='w')


def csv_table(rows: Sequence[Summary]) -> str:
    """The summaries as CSV text, one line per (method, metric)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator='\n')
    writer.writerow(Summary._fields)
    for row in rows:
        writer.writerow([
            value if isinstance(value, (str, int)) else f'{value:.6g}'
            for value in row
        ])
    return buffer.getvalue()


def plot_mean_curves(curves: Mapping[str, Mapping[str, np.ndarray]],
                     path: str, title: str = '') -> str:
    """Plot the mean deletion and insertion curves of each method (PNG).

    Args:
        curves: method -> ``'deletion'`` / ``'insertion'`` -> images x
            (steps + 1) scores; methods may have different step counts
            (the x axis is the fraction of the image changed).
        path: where the PNG goes (written atomically).
        title: figure title.
    """
    import matplotlib
    matplotlib.use('Agg')
    from matplotlib import pyplot as plt
    from PIL import Image

    modes = ('deletion', 'insertion')
    figure, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for axis, mode in zip(axes, modes):
        for method, method_curves in curves.items():
            if mode not in method_curves:
                continue
            scores = np.asarray(method_curves[mode], dtype=np.float64)
            mean = scores.mean(axis=0)
            area = float(area_under_curve(torch.from_numpy(mean)[None])[0])
            axis.plot(np.linspace(0, 1, len(mean)), mean,
                      label=f'{method} ({area:.3f})')
        axis.set_title(f'{mode} (area in the legend)')
        axis.set_xlabel('fraction of the image '
                        + ('removed' if mode == 'deletion' else 'inserted'))
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    axes[0].set_ylabel('mean probability of the explained class')
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format='png', dpi=110)
    plt.close(figure)
    buffer.seek(0)
    return save_png(Image.open(buffer), path)
