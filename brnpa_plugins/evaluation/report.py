"""Summaries of per-image scores: tables (Markdown, CSV) and mean curves.

Every method is scored on the same images, in the same order, so that its
comparison with a reference method is paired, image by image. Per metric and
method, :func:`summarize` reports the mean over images with a 95% interval
(Student t for means, exact Clopper-Pearson for 0/1 rates such as the
pointing game) and the p-value of a paired test against the reference
(Wilcoxon signed-rank, or exact McNemar for rates), Holm-corrected over all
the comparisons of the table. :func:`summarize_seeds` condenses such
summaries over several training seeds. NaN scores (e.g. a correlation on a
constant curve, an image without annotated parts) are left out and the
number of images kept is reported. The intervals and tests themselves live
in :mod:`brnpa_plugins.evaluation.statistics`.
"""
import csv
import io
import math
from typing import (AbstractSet, Dict, Iterable, List, Mapping, NamedTuple,
                    Optional, Sequence, Tuple)

import numpy as np
import torch

from ..core.render import save_png
from .perturbation import area_under_curve
from .statistics import (binary_interval, holm, mean_interval,
                         paired_direction, paired_test)

Scores = Mapping[str, Mapping[str, Sequence[float]]]


class Summary(NamedTuple):
    """One cell of the table: a metric of a method."""
    method: str
    metric: str
    mean: float  # mean over the images scored (the rate, for a rate)
    low: float  # 95% interval
    high: float
    count: int  # images scored
    interval: str  # 't' or 'clopper-pearson'
    p_value: float  # paired test against the reference; NaN for itself
    p_holm: float  # p_value, Holm-adjusted over all the table's tests
    test: str  # 'wilcoxon', 'mcnemar' or '' (no test)


class SeedSummary(NamedTuple):
    """One cell of a multi-seed table: a metric of a method over seeds."""
    method: str
    metric: str
    mean: float  # mean over seeds of the per-seed means over images
    low: float  # smallest per-seed mean
    high: float  # largest per-seed mean
    seeds: int  # seeds with a finite per-seed mean
    better: int  # seeds where it is significantly better than the reference
    worse: int  # seeds where it is significantly worse


def _rate_set(rates: Iterable[str]) -> AbstractSet[str]:
    if isinstance(rates, str):
        return {rates}
    return set(rates)


def _size(values) -> int:
    return int(np.asarray(values, dtype=np.float64).size)


def _check_aligned(scores: Scores, reference: Optional[str]) -> None:
    """Every metric has one value per image for every method."""
    methods = list(scores)
    if reference in scores:
        methods.remove(reference)
        methods.insert(0, reference)
    first: Dict[str, Tuple[str, int]] = {}
    for method in methods:
        for metric, values in scores[method].items():
            size = _size(values)
            if metric not in first:
                first[metric] = (method, size)
                continue
            other, expected = first[metric]
            if size != expected:
                raise ValueError(
                    f'scores must be aligned by image across methods: '
                    f'method {method!r}, metric {metric!r} has {size} '
                    f'values but method {other!r} has {expected}')


def _summarize(scores: Scores, reference: Optional[str],
               rates: AbstractSet[str],
               averaged: AbstractSet[str] = frozenset()) -> List[Summary]:
    """:func:`summarize` without its checks on ``reference``; no test is
    made when ``reference`` is not in ``scores``."""
    _check_aligned(scores, reference)
    rows = []
    for method, metrics in scores.items():
        for metric, values in metrics.items():
            binary = metric in rates and method not in averaged
            interval = (binary_interval(values) if binary
                        else mean_interval(values))
            p_value, test = math.nan, ''
            if (method != reference and reference in scores
                    and metric in scores[reference]):
                result = paired_test(values, scores[reference][metric],
                                     binary=binary)
                p_value, test = result.p_value, result.method
            rows.append(Summary(method, metric, interval.mean, interval.low,
                                interval.high, int(interval.count),
                                interval.method, p_value, math.nan, test))
    adjusted = holm([row.p_value for row in rows])
    return [row._replace(p_holm=float(p)) for row, p in zip(rows, adjusted)]


def summarize(scores: Scores, reference: Optional[str] = None,
              rates: Iterable[str] = (),
              averaged: Iterable[str] = ()) -> List[Summary]:
    """Summaries of ``scores[method][metric]`` (per-image values).

    The arrays of a metric must be aligned by image across methods (the
    same images in the same order): each method is tested against the
    reference image by image. Means get a Student-t interval and a paired
    Wilcoxon signed-rank test; the metrics named in ``rates`` hold 0/1
    scores (NaN for images not scored) and get an exact Clopper-Pearson
    interval and an exact McNemar test. The p-values are Holm-adjusted over
    every (method other than the reference, metric) comparison.

    Args:
        scores: method -> metric -> per-image values.
        reference: the method the others are tested against; defaults to
            the first method.
        rates: names of the metrics that are 0/1 rates (names absent from
            ``scores`` are ignored).
        averaged: methods whose per-image values are means over several
            seeds (e.g. random maps): their rates are fractions, so they
            get the Student-t interval and the Wilcoxon test.

    Returns:
        One :class:`Summary` per (method, metric), methods and metrics in
        the order of ``scores``.

    Raises:
        ValueError: if ``scores`` is empty, ``reference`` is not among its
            methods, the arrays of a metric differ in length across methods
            (the method, metric and lengths are named), or a rate holds a
            value other than 0, 1 or NaN.
    """
    methods = list(scores)
    if not methods:
        raise ValueError('no method to summarise')
    reference = reference or methods[0]
    if reference not in scores:
        raise ValueError(f'reference method {reference!r} is not among '
                         f'{methods}')
    return _summarize(scores, reference, _rate_set(rates),
                      _rate_set(averaged))


def _metrics_in_order(rows) -> List[str]:
    return list(dict.fromkeys(row.metric for row in rows))


def _label(metric: str, higher_is_better: Mapping[str, bool]) -> str:
    arrow = {True: ' ↑', False: ' ↓'}.get(higher_is_better.get(metric), '')
    return metric.upper() + arrow


def _table(first_column: str, counts: Mapping[str, int],
           cells: Mapping[str, Mapping[str, str]], metrics: Sequence[str],
           higher_is_better: Mapping[str, bool]) -> List[str]:
    lines = [
        f'| method | {first_column} | ' + ' | '.join(
            _label(m, higher_is_better) for m in metrics) + ' |',
        '|---|---|' + '---|' * len(metrics)
    ]
    for method, row_cells in cells.items():
        lines.append(f'| {method} | {counts[method]} | ' + ' | '.join(
            row_cells.get(m, '') for m in metrics) + ' |')
    return lines


def _reference_of(rows: Sequence[Summary]) -> Optional[str]:
    """The method the others were tested against, if any was."""
    tested = {row.method for row in rows if row.test}
    if not tested:
        return None
    for row in rows:
        if row.method not in tested:
            return row.method
    return None


def markdown_table(rows: Sequence[Summary],
                   higher_is_better: Optional[Mapping[str, bool]] = None,
                   tests: Optional[int] = None) -> str:
    """A Markdown table: one row per method, one column per metric.

    A cell reads ``mean [low, high]`` and, for methods other than the
    reference, ``p=`` with the Holm-adjusted p-value of the paired test
    against it; a cell whose metric kept fewer images than the method's
    others (NaN scores) adds ``n=``. Header arrows say which way is better.
    A legend line below the table names the intervals, the tests, the
    reference and the number of tests of the Holm correction.

    Args:
        rows: summaries from :func:`summarize`.
        higher_is_better: metric -> whether higher is better (header
            arrows); metrics absent from it get no arrow.
        tests: size of the Holm family the p-values were adjusted over,
            when ``rows`` show only part of it; defaults to the tests in
            ``rows``.

    Returns:
        The table and its legend, as Markdown text.
    """
    higher_is_better = higher_is_better or {}
    metrics = _metrics_in_order(rows)
    images: Dict[str, int] = {}
    for row in rows:
        images[row.method] = max(images.get(row.method, 0), row.count)
    cells: Dict[str, Dict[str, str]] = {}
    for row in rows:
        text = f'{row.mean:.3f} [{row.low:.3f}, {row.high:.3f}]'
        if not math.isnan(row.p_holm):
            text += f' p={row.p_holm:.2g}'
        if row.count < images[row.method]:
            text += f' n={row.count}'
        cells.setdefault(row.method, {})[row.metric] = text
    lines = _table('images', images, cells, metrics, higher_is_better)
    if tests is None:
        tests = sum(not math.isnan(row.p_value) for row in rows)
    reference = _reference_of(rows)
    against = (f'the reference row ({reference})' if reference
               else 'the reference row')
    legend = ('[low, high]: 95% interval (Student t for means, exact '
              'Clopper-Pearson for rates); p: paired Wilcoxon signed-rank '
              'test (means) or exact McNemar test (rates) against '
              f'{against}, Holm-corrected over {tests} '
              f'test{"" if tests == 1 else "s"}.')
    return '\n'.join(lines) + '\n\n' + legend + '\n'


def summarize_seeds(per_seed: Mapping[object, Scores], reference: str,
                    rates: Iterable[str] = (), alpha: float = 0.05,
                    higher_is_better: Optional[Mapping[str, bool]] = None,
                    averaged: Iterable[str] = ()) -> List[SeedSummary]:
    """Summaries over training seeds of per-image scores.

    Each seed's scores are summarised as by :func:`summarize` (paired tests
    against ``reference``, Holm correction within the seed); a cell then
    gives the mean, min and max over seeds of the per-seed means, and in
    how many seeds the method is significantly (Holm-adjusted p < alpha)
    better or worse than the reference. The direction is that of the
    paired test's statistic (see
    :func:`~brnpa_plugins.evaluation.statistics.paired_direction`), read
    through ``higher_is_better``.

    Args:
        per_seed: seed -> scores as for :func:`summarize` (method -> metric
            -> per-image values, aligned by image within the seed); a method
            or metric may be missing from some seeds (a seed without the
            reference makes no test).
        reference: the method the others are tested against.
        rates: names of the metrics that are 0/1 rates.
        alpha: significance level, in (0, 1).
        higher_is_better: metric -> whether higher is better; significant
            differences on metrics absent from it count neither as better
            nor as worse.
        averaged: methods whose values are means over seeds of a method,
            as for :func:`summarize`.

    Returns:
        One :class:`SeedSummary` per (method, metric), in order of first
        appearance over the seeds; ``seeds`` counts the seeds with a finite
        per-seed mean (0 and NaN statistics if there is none).

    Raises:
        ValueError: if ``per_seed`` is empty, no seed holds ``reference``,
            ``alpha`` is not in (0, 1), or a seed's scores fail the checks
            of :func:`summarize` (the seed is named).
    """
    if not per_seed:
        raise ValueError('no seed to summarise')
    if not any(reference in scores for scores in per_seed.values()):
        raise ValueError(f'reference method {reference!r} is in no seed')
    if not 0 < alpha < 1:
        raise ValueError(f'alpha must lie in (0, 1), got {alpha!r}')
    higher_is_better = higher_is_better or {}
    rates, averaged = _rate_set(rates), _rate_set(averaged)
    means: Dict[Tuple[str, str], List[float]] = {}
    better: Dict[Tuple[str, str], int] = {}
    worse: Dict[Tuple[str, str], int] = {}
    for seed, scores in per_seed.items():
        try:
            rows = _summarize(scores, reference, rates, averaged)
        except ValueError as error:
            raise ValueError(f'seed {seed!r}: {error}') from error
        for row in rows:
            key = (row.method, row.metric)
            means.setdefault(key, [])
            better.setdefault(key, 0)
            worse.setdefault(key, 0)
            if not math.isnan(row.mean):
                means[key].append(row.mean)
            if not row.p_holm < alpha or row.metric not in higher_is_better:
                continue
            direction = paired_direction(
                scores[row.method][row.metric],
                scores[reference][row.metric],
                binary=row.test == 'mcnemar')
            if not higher_is_better[row.metric]:
                direction = -direction
            if direction > 0:
                better[key] += 1
            elif direction < 0:
                worse[key] += 1
    summaries = []
    for (method, metric), values in means.items():
        if values:
            mean, low, high = (float(np.mean(values)), float(min(values)),
                               float(max(values)))
        else:
            mean = low = high = math.nan
        summaries.append(
            SeedSummary(method, metric, mean, low, high, len(values),
                        better[method, metric], worse[method, metric]))
    return summaries


def seeds_markdown_table(rows: Sequence[SeedSummary],
                         higher_is_better: Optional[Mapping[str,
                                                            bool]] = None,
                         reference: Optional[str] = None,
                         alpha: float = 0.05) -> str:
    """A Markdown table of multi-seed summaries, with a legend line.

    A cell reads ``mean [min, max]`` over seeds, then ``better k/S`` and
    ``worse k/S`` when k is not zero: in k of the S seeds the method is
    significantly better (worse) than the reference.

    Args:
        rows: summaries from :func:`summarize_seeds`.
        higher_is_better: metric -> whether higher is better (header
            arrows).
        reference: the reference method, named in the legend.
        alpha: the significance level used by :func:`summarize_seeds`,
            stated in the legend.

    Returns:
        The table and its legend, as Markdown text.
    """
    higher_is_better = higher_is_better or {}
    metrics = _metrics_in_order(rows)
    seeds: Dict[str, int] = {}
    cells: Dict[str, Dict[str, str]] = {}
    for row in rows:
        seeds[row.method] = max(seeds.get(row.method, 0), row.seeds)
        text = f'{row.mean:.3f} [{row.low:.3f}, {row.high:.3f}]'
        if row.better:
            text += f' better {row.better}/{row.seeds}'
        if row.worse:
            text += f' worse {row.worse}/{row.seeds}'
        cells.setdefault(row.method, {})[row.metric] = text
    lines = _table('seeds', seeds, cells, metrics, higher_is_better)
    against = f'the reference ({reference})' if reference else 'the reference'
    legend = ('mean [min, max] over seeds of the per-seed mean over images; '
              'better/worse k/S: in k of S seeds, significantly better/worse '
              f'than {against} (paired Wilcoxon signed-rank test for means, '
              'exact McNemar test for rates, Holm-corrected within the seed, '
              f'alpha={alpha:g}).')
    return '\n'.join(lines) + '\n\n' + legend + '\n'


def per_image_csv(scores: Scores, image_ids: Sequence,
                  seed: Optional[object] = None) -> str:
    """Per-image scores as long-format CSV text.

    Args:
        scores: method -> metric -> per-image values, aligned with
            ``image_ids``.
        image_ids: one identifier per image (e.g. its file name).
        seed: written in the ``seed`` column (empty when None), so that the
            files of several seeds can be concatenated.

    Returns:
        CSV text with the header ``seed,image,method,metric,value`` and one
        line per score, in method, metric, image order; values are written
        with ``%.6g`` (``nan`` for NaN).

    Raises:
        ValueError: if an array's length differs from that of
            ``image_ids`` (the method and metric are named).
    """
    image_ids = list(image_ids)
    seed_text = '' if seed is None else str(seed)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator='\n')
    writer.writerow(('seed', 'image', 'method', 'metric', 'value'))
    for method, metrics in scores.items():
        for metric, values in metrics.items():
            values = np.asarray(values, dtype=np.float64).reshape(-1)
            if len(values) != len(image_ids):
                raise ValueError(
                    f'method {method!r}, metric {metric!r} has '
                    f'{len(values)} values for {len(image_ids)} image ids')
            for image, value in zip(image_ids, values):
                writer.writerow(
                    (seed_text, image, method, metric, '%.6g' % value))
    return buffer.getvalue()


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
