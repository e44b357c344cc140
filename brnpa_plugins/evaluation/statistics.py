"""Confidence intervals and paired tests of per-image scores.

This module is the one place where the evaluation computes intervals and
significance tests:

* :func:`mean_interval`: Student-t interval of a mean score.
* :func:`rate_interval` / :func:`binary_interval`: exact Clopper-Pearson
  interval of a rate (e.g. the pointing-game hit rate).
* :func:`paired_test`: two-sided paired test of a method against a reference
  on the same images (Wilcoxon signed-rank, or exact McNemar for 0/1
  scores); :func:`paired_direction` says which way the difference goes.
* :func:`holm`: Holm-Bonferroni adjustment of a family of p-values.
* :func:`paired_bootstrap`: percentile bootstrap interval of a mean paired
  difference.

Non-finite scores (NaN: not scored, e.g. a correlation on a constant curve)
are left out; paired functions keep the images where both scores are finite.
"""
import math
import numbers
from typing import NamedTuple, Tuple

import numpy as np
from scipy import stats


class Interval(NamedTuple):
    """A point estimate with its confidence interval."""
    mean: float
    low: float
    high: float
    count: int  # number of values (or trials) it rests on
    method: str  # 't', 'clopper-pearson' or 'bootstrap'


class PairedTest(NamedTuple):
    """The outcome of a two-sided paired test."""
    p_value: float
    median_difference: float  # median of values - reference over the pairs
    count: int  # number of pairs used
    method: str  # 'wilcoxon' or 'mcnemar'


def finite(values) -> np.ndarray:
    """The finite values, flattened.

    Args:
        values: array-like of numbers, any shape.

    Returns:
        1-D float64 array of the values that are neither NaN nor infinite,
        in their original (row-major) order.
    """
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    return values[np.isfinite(values)]


def _check_confidence(confidence: float) -> float:
    if not 0 < confidence < 1:
        raise ValueError(
            f'confidence must lie strictly between 0 and 1, got '
            f'{confidence!r}')
    return float(confidence)


def mean_interval(values, confidence: float = 0.95) -> Interval:
    """Student-t confidence interval of the mean of the finite values.

    Args:
        values: array-like of scores; NaN and infinite values are left out.
        confidence: coverage of the interval, in (0, 1).

    Returns:
        :class:`Interval` ``(mean, low, high, count, 't')``; with fewer than
        two finite values the bounds are NaN, with none the mean is NaN too.
        Identical values give a zero-width interval.
    """
    confidence = _check_confidence(confidence)
    values = finite(values)
    count = len(values)
    if count == 0:
        return Interval(math.nan, math.nan, math.nan, 0, 't')
    mean = float(values.mean())
    if count < 2:
        return Interval(mean, math.nan, math.nan, count, 't')
    sem = values.std(ddof=1) / math.sqrt(count)
    half = float(stats.t.ppf((1 + confidence) / 2, count - 1) * sem)
    if not math.isfinite(half):
        half = 0.0
    return Interval(mean, mean - half, mean + half, count, 't')


def _count(value, name: str) -> int:
    """``value`` as a Python int, if it is a whole number."""
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f'{name} must be an integer, got {value!r}')
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real) and math.isfinite(value) \
            and float(value).is_integer():
        return int(value)
    raise ValueError(f'{name} must be an integer, got {value!r}')


def rate_interval(successes, trials, confidence: float = 0.95) -> Interval:
    """Exact (Clopper-Pearson) confidence interval of a success rate.

    The bounds are quantiles of beta distributions; the interval never
    leaves [0, 1] and covers the true rate with at least the stated
    probability.

    Args:
        successes: number of successes, a whole number in [0, trials].
        trials: number of trials, a whole number >= 0.
        confidence: coverage of the interval, in (0, 1).

    Returns:
        :class:`Interval` ``(successes / trials, low, high, trials,
        'clopper-pearson')``; low is 0 when there is no success and high is
        1 when every trial succeeded; all NaN when ``trials`` is 0.

    Raises:
        ValueError: if a count is not a whole number, ``trials`` is negative
            or ``successes`` is outside [0, trials].
    """
    confidence = _check_confidence(confidence)
    successes = _count(successes, 'successes')
    trials = _count(trials, 'trials')
    if trials < 0:
        raise ValueError(f'trials must be >= 0, got {trials}')
    if not 0 <= successes <= trials:
        raise ValueError(f'successes must lie in [0, trials={trials}], got '
                         f'{successes}')
    method = 'clopper-pearson'
    if trials == 0:
        return Interval(math.nan, math.nan, math.nan, 0, method)
    alpha = 1 - confidence
    low = 0.0 if successes == 0 else float(
        stats.beta.ppf(alpha / 2, successes, trials - successes + 1))
    high = 1.0 if successes == trials else float(
        stats.beta.ppf(1 - alpha / 2, successes + 1, trials - successes))
    return Interval(successes / trials, low, high, trials, method)


def _binary(values, name: str = 'values') -> np.ndarray:
    """Flattened float64 copy of 0/1 scores; NaN kept, anything else fails."""
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    bad = ~np.isnan(values) & (values != 0) & (values != 1)
    if bad.any():
        index = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f'{name} must be 0 or 1 (NaN for not scored); got '
            f'{values[index]!r} at index {index}')
    return values


def binary_interval(values, confidence: float = 0.95) -> Interval:
    """Exact confidence interval of the rate of 0/1 scores.

    Args:
        values: array-like of 1 (success) and 0 (failure), NaN for items
            that were not scored (left out).
        confidence: coverage of the interval, in (0, 1).

    Returns:
        :class:`Interval` of :func:`rate_interval` over the scored items.

    Raises:
        ValueError: naming the first value that is neither 0, 1 nor NaN.
    """
    values = _binary(values)
    scored = values[~np.isnan(values)]
    return rate_interval(int(scored.sum()), len(scored), confidence)


def _pairs(values, reference) -> Tuple[np.ndarray, np.ndarray]:
    """The (values, reference) pairs where both are finite, flattened."""
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    reference = np.asarray(reference, dtype=np.float64).reshape(-1)
    if len(values) != len(reference):
        raise ValueError(
            f'paired scores must have one value per item on both sides; got '
            f'{len(values)} values and {len(reference)} reference values')
    keep = np.isfinite(values) & np.isfinite(reference)
    return values[keep], reference[keep]


def paired_test(values, reference, binary: bool = False) -> PairedTest:
    """Two-sided paired test of ``values`` against ``reference``.

    ``values[i]`` and ``reference[i]`` are scores of the same item (image);
    only pairs where both are finite are used.

    * Continuous scores (default): Wilcoxon signed-rank test of the
      differences ``values - reference``, zero differences split between
      the two signs (``zero_method='zsplit'``); p = 1 when every difference
      is zero.
    * ``binary=True`` (0/1 scores): exact McNemar test, i.e. a two-sided
      binomial test with success probability 1/2 on the discordant pairs;
      p = 1 when no pair is discordant.

    Args:
        values: per-item scores of the method under test.
        reference: per-item scores of the reference, same length.
        binary: whether the scores are 0/1 (NaN for not scored).

    Returns:
        :class:`PairedTest` ``(p_value, median_difference, count, method)``
        with method ``'wilcoxon'`` or ``'mcnemar'``; p_value is NaN with
        fewer than two pairs (median_difference NaN with none).

    Raises:
        ValueError: if the two arrays differ in length (both are named), or,
            when ``binary``, if a score is neither 0, 1 nor NaN.
    """
    if binary:
        values = _binary(values, 'values')
        reference = _binary(reference, 'reference')
    values, reference = _pairs(values, reference)
    method = 'mcnemar' if binary else 'wilcoxon'
    count = len(values)
    differences = values - reference
    median = float(np.median(differences)) if count else math.nan
    if count < 2:
        return PairedTest(math.nan, median, count, method)
    if binary:
        gained = int(np.sum(differences > 0))
        lost = int(np.sum(differences < 0))
        if gained + lost == 0:
            p_value = 1.0
        else:
            p_value = float(stats.binomtest(gained, gained + lost).pvalue)
    elif not np.any(differences):
        p_value = 1.0
    else:
        p_value = float(
            stats.wilcoxon(differences, zero_method='zsplit').pvalue)
    return PairedTest(min(p_value, 1.0), median, count, method)


def paired_direction(values, reference, binary: bool = False) -> int:
    """Which way the paired test of :func:`paired_test` leans.

    Args:
        values: per-item scores of the method under test.
        reference: per-item scores of the reference, same length.
        binary: whether the scores are 0/1 (NaN for not scored).

    Returns:
        +1 if ``values`` tend to exceed ``reference``, -1 if they tend to
        fall below it, 0 if neither: the sign of the signed-rank sum of the
        differences (continuous scores), or of the number of pairs won
        minus the number lost (binary scores). Unlike the sign of the
        median difference, this agrees with the test's statistic.

    Raises:
        ValueError: as :func:`paired_test`.
    """
    if binary:
        values = _binary(values, 'values')
        reference = _binary(reference, 'reference')
    values, reference = _pairs(values, reference)
    differences = values - reference
    if binary:
        return int(np.sign(np.sum(np.sign(differences))))
    ranks = stats.rankdata(np.abs(differences))
    return int(np.sign(np.sum(np.sign(differences) * ranks)))


def holm(p_values) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values.

    With the m finite p-values sorted increasingly, p_(1) <= ... <= p_(m),
    the adjusted value of p_(i) is ``max_{j <= i} min(1, (m - j + 1) p_(j))``
    (step-down, monotone in the raw p-values). Rejecting the hypotheses
    whose adjusted value is below alpha controls the family-wise error rate
    at alpha, whatever the dependence between the tests.

    Args:
        p_values: array-like of p-values in [0, 1], any shape; NaN entries
            (no test) are kept as NaN and not counted among the m tests.

    Returns:
        float64 array of the adjusted p-values, same shape as the input.

    Raises:
        ValueError: if a p-value is infinite or outside [0, 1].
    """
    p_values = np.asarray(p_values, dtype=np.float64)
    flat = p_values.reshape(-1)
    tested = ~np.isnan(flat)
    bad = tested & ~((flat >= 0) & (flat <= 1))
    if bad.any():
        raise ValueError(
            f'p-values must lie in [0, 1] (NaN for no test); got '
            f'{flat[np.flatnonzero(bad)[0]]!r}')
    adjusted = np.full(flat.shape, np.nan)
    indices = np.flatnonzero(tested)
    count = len(indices)
    if count:
        order = indices[np.argsort(flat[indices], kind='stable')]
        scaled = flat[order] * np.arange(count, 0, -1)
        adjusted[order] = np.minimum(np.maximum.accumulate(scaled), 1.0)
    return adjusted.reshape(p_values.shape)


def paired_bootstrap(values, reference, num_samples: int = 2000,
                     seed: int = 0, confidence: float = 0.95) -> Interval:
    """Percentile bootstrap interval of the mean paired difference.

    The pairs (items) where both scores are finite are resampled with
    replacement ``num_samples`` times; the interval holds the central
    ``confidence`` fraction of the resampled mean differences. All resamples
    are drawn at once (a ``num_samples`` x n index array).

    Args:
        values: per-item scores of the method under test.
        reference: per-item scores of the reference, same length.
        num_samples: number of bootstrap resamples, >= 1.
        seed: seed of the random generator (same seed, same interval).
        confidence: coverage of the interval, in (0, 1).

    Returns:
        :class:`Interval` ``(mean difference, low, high, pairs,
        'bootstrap')``, differences being ``values - reference``; NaN bounds
        with fewer than two pairs, NaN mean with none.

    Raises:
        ValueError: if the arrays differ in length or ``num_samples`` < 1.
    """
    confidence = _check_confidence(confidence)
    num_samples = _count(num_samples, 'num_samples')
    if num_samples < 1:
        raise ValueError(f'num_samples must be >= 1, got {num_samples}')
    values, reference = _pairs(values, reference)
    differences = values - reference
    count = len(differences)
    if count == 0:
        return Interval(math.nan, math.nan, math.nan, 0, 'bootstrap')
    mean = float(differences.mean())
    if count < 2:
        return Interval(mean, math.nan, math.nan, count, 'bootstrap')
    rng = np.random.default_rng(seed)
    indices = rng.integers(0, count, size=(num_samples, count))
    means = differences[indices].mean(axis=1)
    alpha = 1 - confidence
    low, high = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    return Interval(mean, float(low), float(high), count, 'bootstrap')
