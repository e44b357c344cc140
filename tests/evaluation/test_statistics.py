"""Intervals and paired tests, checked against scipy and hand computations."""
import math

import numpy as np
import pytest
from scipy import stats

from brnpa_plugins.evaluation.statistics import (Interval, binary_interval,
                                                 finite, holm,
                                                 mean_interval,
                                                 paired_bootstrap,
                                                 paired_direction,
                                                 paired_test, rate_interval)


def test_finite_flattens_and_drops_nan_and_inf():
    values = finite([[1, np.nan], [np.inf, -2], [-np.inf, 3]])
    assert values.dtype == np.float64
    assert values.tolist() == [1.0, -2.0, 3.0]
    assert finite([]).shape == (0,)


def test_mean_interval_is_the_student_t_interval():
    rng = np.random.default_rng(0)
    a = rng.normal(0, 1, 30)
    result = mean_interval(np.append(a, [np.nan, np.inf]))
    assert isinstance(result, Interval)
    assert result.count == 30 and result.method == 't'
    assert result.mean == pytest.approx(a.mean())
    expected = stats.t.interval(0.95, 29, loc=a.mean(), scale=stats.sem(a))
    assert (result.low, result.high) == pytest.approx(expected)
    wider = mean_interval(a, confidence=0.99)
    assert wider.low < result.low and wider.high > result.high


def test_mean_interval_edge_cases():
    single = mean_interval([2.0, np.nan])
    assert single.mean == 2.0 and single.count == 1
    assert math.isnan(single.low) and math.isnan(single.high)
    empty = mean_interval([np.nan])
    assert empty.count == 0 and math.isnan(empty.mean)
    constant = mean_interval([0.5, 0.5, 0.5])
    assert (constant.low, constant.high) == (0.5, 0.5)
    with pytest.raises(ValueError, match='confidence'):
        mean_interval([1.0, 2.0], confidence=95)


def test_clopper_pearson_matches_scipy_and_stays_in_the_unit_interval():
    result = rate_interval(31, 32)
    assert result.method == 'clopper-pearson' and result.count == 32
    assert result.mean == pytest.approx(31 / 32)
    assert result.high <= 1
    expected = stats.binomtest(31, 32).proportion_ci(method='exact')
    assert (result.low, result.high) == pytest.approx(
        (expected.low, expected.high), rel=1e-9)
    # A t interval on the same 0/1 scores would exceed 1.
    t_interval = mean_interval([1] * 31 + [0])
    assert t_interval.high > 1
    for successes, trials in ((7, 20), (1, 3), (50, 100)):
        ours = rate_interval(successes, trials, confidence=0.9)
        theirs = stats.binomtest(successes, trials).proportion_ci(
            confidence_level=0.9, method='exact')
        assert (ours.low, ours.high) == pytest.approx(
            (theirs.low, theirs.high), rel=1e-9)


def test_clopper_pearson_edges():
    none = rate_interval(0, 10)
    assert none.mean == 0 and none.low == 0
    # Closed form at 0 successes: 1 - (alpha / 2) ** (1 / n).
    assert none.high == pytest.approx(1 - 0.025 ** (1 / 10))
    every = rate_interval(10, 10)
    assert every.mean == 1 and every.high == 1
    assert every.low == pytest.approx(0.025 ** (1 / 10))
    empty = rate_interval(0, 0)
    assert empty.count == 0
    assert all(math.isnan(v) for v in (empty.mean, empty.low, empty.high))
    assert rate_interval(np.int64(3), 4.0) == rate_interval(3, 4)


@pytest.mark.parametrize('successes, trials, named', [
    (11, 10, '11'), (-1, 10, '-1'), (2.5, 10, '2.5'), (1, -3, '-3'),
    (1, 'ten', 'ten'), (True, 2, 'True')])
def test_rate_interval_rejects_bad_counts(successes, trials, named):
    with pytest.raises(ValueError, match=named):
        rate_interval(successes, trials)


def test_binary_interval_drops_nan_and_rejects_other_values():
    result = binary_interval([1, 0, np.nan, 1, 1])
    assert result == rate_interval(3, 4)
    with pytest.raises(ValueError, match=r'0\.5'):
        binary_interval([1, 0, 0.5])
    with pytest.raises(ValueError, match='inf'):
        binary_interval([1, np.inf])


def test_paired_test_detects_a_shift_an_unpaired_test_misses():
    rng = np.random.default_rng(1)
    reference = rng.normal(0, 1, 50)
    values = reference + 0.05 + rng.normal(0, 0.001, 50)
    welch = stats.ttest_ind(values, reference, equal_var=False).pvalue
    assert welch > 0.5  # the shift is lost in the spread between images
    result = paired_test(values, reference)
    assert result.method == 'wilcoxon' and result.count == 50
    assert result.p_value < 1e-6
    assert result.median_difference == pytest.approx(0.05, abs=0.002)
    assert result.p_value == pytest.approx(stats.wilcoxon(
        values - reference, zero_method='zsplit').pvalue)
    assert paired_direction(values, reference) == 1
    assert paired_direction(reference, values) == -1


def test_paired_test_keeps_the_pairs_where_both_are_finite():
    values = np.array([1.0, 2.0, np.nan, 4.0, 5.5, 7.0])
    reference = np.array([0.5, np.nan, 3.0, 3.0, 5.0, 5.0])
    result = paired_test(values, reference)
    assert result.count == 4
    expected = stats.wilcoxon([0.5, 1.0, 0.5, 2.0], zero_method='zsplit')
    assert result.p_value == pytest.approx(expected.pvalue)
    assert result.median_difference == pytest.approx(0.75)


def test_paired_test_edge_cases():
    same = paired_test([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    assert same.p_value == 1.0 and same.median_difference == 0
    one_pair = paired_test([1.0, np.nan], [0.0, 1.0])
    assert one_pair.count == 1 and math.isnan(one_pair.p_value)
    assert one_pair.median_difference == 1.0
    with pytest.raises(ValueError, match='3 values and 2 reference'):
        paired_test([1, 2, 3], [1, 2])


def test_mcnemar_exact_test_on_a_hand_case():
    # 8 pairs won, 2 lost, 5 ties (both hit) and 3 ties (both miss), 1 NaN.
    values = np.array([1] * 8 + [0] * 2 + [1] * 5 + [0] * 3 + [np.nan])
    reference = np.array([0] * 8 + [1] * 2 + [1] * 5 + [0] * 3 + [1])
    result = paired_test(values, reference, binary=True)
    assert result.method == 'mcnemar' and result.count == 18
    # Two-sided binomial test of 8 of 10 at 1/2: 2 * (1 + 10 + 45) / 2**10.
    assert result.p_value == pytest.approx(2 * 56 / 1024)
    assert paired_direction(values, reference, binary=True) == 1
    ties = paired_test([1, 0, 1], [1, 0, 1], binary=True)
    assert ties.p_value == 1.0
    with pytest.raises(ValueError, match='reference.*2'):
        paired_test([1, 0], [1, 2], binary=True)


def test_paired_direction_follows_ranks_not_the_median():
    # Most differences are zero (median 0), the rest are positive.
    differences = np.array([0.0] * 6 + [1.0, 2.0, 3.0, 4.0, 5.0])
    assert np.median(differences) == 0
    assert paired_direction(differences, np.zeros(11)) == 1
    assert paired_direction(np.zeros(4), np.zeros(4)) == 0


def test_holm_on_known_vectors():
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    # Step-down: 4 * 0.01, 3 * 0.02, then max(0.06, 2 * 0.025), capped.
    assert holm([0.025, 0.01, 0.02, 0.5]) == pytest.approx(
        [0.06, 0.04, 0.06, 0.5])
    assert holm([0.3, 0.9]) == pytest.approx([0.6, 0.9])
    assert holm([0.6, 0.7]).tolist() == [1.0, 1.0]


def test_holm_leaves_nan_out_of_the_count():
    adjusted = holm([np.nan, 0.01, 0.04, np.nan, 0.03])
    assert np.isnan(adjusted[[0, 3]]).all()
    assert adjusted[[1, 2, 4]] == pytest.approx([0.03, 0.06, 0.06])
    grid = holm(np.array([[0.01, np.nan], [0.02, 0.5]]))
    assert grid.shape == (2, 2) and np.isnan(grid[0, 1])
    assert grid[1, 0] == pytest.approx(0.04)
    assert np.isnan(holm([np.nan])).all() and holm([]).shape == (0,)
    with pytest.raises(ValueError, match='1.5'):
        holm([0.1, 1.5])


def test_paired_bootstrap_covers_the_mean_difference_and_is_reproducible():
    rng = np.random.default_rng(2)
    reference = rng.normal(0, 1, 200)
    values = reference + 0.3 + rng.normal(0, 0.2, 200)
    result = paired_bootstrap(values, reference, seed=3)
    assert result.method == 'bootstrap' and result.count == 200
    assert result.mean == pytest.approx(np.mean(values - reference))
    assert result.low < 0.3 < result.high
    assert result.low < result.mean < result.high
    # Close to the normal-theory half-width of the mean difference.
    half = 1.96 * np.std(values - reference, ddof=1) / np.sqrt(200)
    assert (result.high - result.low) / 2 == pytest.approx(half, rel=0.2)
    assert paired_bootstrap(values, reference, seed=3) == result
    assert paired_bootstrap(values, reference, seed=4) != result
    narrower = paired_bootstrap(values, reference, seed=3, confidence=0.5)
    assert narrower.high - narrower.low < result.high - result.low


def test_paired_bootstrap_edge_cases():
    one = paired_bootstrap([1.0, np.nan], [0.5, 0.0])
    assert one.mean == 0.5 and one.count == 1 and math.isnan(one.low)
    assert math.isnan(paired_bootstrap([np.nan], [1.0]).mean)
    with pytest.raises(ValueError, match='num_samples'):
        paired_bootstrap([1.0, 2.0], [0.0, 0.0], num_samples=0)
    with pytest.raises(ValueError, match='2 values and 3'):
        paired_bootstrap([1.0, 2.0], [0.0, 0.0, 0.0])
