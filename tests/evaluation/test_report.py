"""Summary tables (intervals, paired tests, Holm), seeds, CSV and plots."""
import csv
import io
import math

import numpy as np
import pytest
from PIL import Image
from scipy import stats

from brnpa_plugins.evaluation import report
from brnpa_plugins.evaluation.report import (SeedSummary, Summary,
                                             csv_table, markdown_table,
                                             per_image_csv,
                                             plot_mean_curves,
                                             seeds_markdown_table,
                                             summarize, summarize_seeds)
from brnpa_plugins.evaluation.statistics import holm


def test_welch_is_gone():
    assert not hasattr(report, 'welch_p_value')
    assert 'welch' not in open(report.__file__).read().lower()


def test_summarize_uses_paired_tests_and_holm_over_all_comparisons():
    rng = np.random.default_rng(0)
    a = rng.normal(0, 1, 30)
    b = a + 0.1 + rng.normal(0, 0.05, 30)  # same images, shifted
    c = a + rng.normal(0, 0.5, 30)
    hits_a = (rng.random(30) < 0.5).astype(float)
    hits_b = hits_a.copy()
    hits_b[:6] = 1 - hits_b[:6]
    hits_a[-1] = hits_b[-1] = np.nan  # an image without parts
    scores = {'A': {'dauc': a, 'pointing': hits_a},
              'B': {'dauc': b, 'pointing': hits_b},
              'C': {'dauc': c}}
    rows = summarize(scores, rates=['pointing'])
    assert [(r.method, r.metric) for r in rows] == [
        ('A', 'dauc'), ('A', 'pointing'), ('B', 'dauc'), ('B', 'pointing'),
        ('C', 'dauc')]
    by_key = {(r.method, r.metric): r for r in rows}
    reference = by_key['A', 'dauc']
    assert math.isnan(reference.p_value) and math.isnan(reference.p_holm)
    assert reference.test == '' and reference.interval == 't'
    expected = stats.t.interval(0.95, 29, loc=a.mean(), scale=stats.sem(a))
    assert (reference.low, reference.high) == pytest.approx(expected)
    shifted = by_key['B', 'dauc']
    assert shifted.test == 'wilcoxon'
    assert shifted.p_value == pytest.approx(
        stats.wilcoxon(b - a, zero_method='zsplit').pvalue)
    assert shifted.p_value < 1e-6
    # An unpaired test would not see it.
    assert stats.ttest_ind(b, a, equal_var=False).pvalue > 0.5
    rate = by_key['B', 'pointing']
    assert rate.interval == 'clopper-pearson' and rate.test == 'mcnemar'
    assert rate.count == 29
    ci = stats.binomtest(int(np.nansum(hits_b)), 29).proportion_ci(
        method='exact')
    assert (rate.low, rate.high) == pytest.approx((ci.low, ci.high))
    gained = int(np.sum((hits_b == 1) & (hits_a == 0)))
    assert rate.p_value == pytest.approx(
        stats.binomtest(gained, 6).pvalue)
    raw = [r.p_value for r in rows]
    assert [r.p_holm for r in rows] == pytest.approx(holm(raw),
                                                     nan_ok=True)
    assert sum(not math.isnan(p) for p in raw) == 3
    assert all(r.p_holm >= r.p_value for r in rows if r.test)
    table = markdown_table(rows, {'dauc': False, 'pointing': True})
    legend = table.strip().split('\n')[-1]
    assert 'Holm-corrected over 3 tests' in legend
    assert 'Clopper-Pearson' in legend and 'McNemar' in legend
    assert 'Wilcoxon signed-rank' in legend and '(A)' in legend
    assert f'p={by_key["B", "dauc"].p_holm:.2g}' in table
    # The reference can be any method.
    rows = summarize(scores, reference='B', rates=('pointing',))
    assert {r.method for r in rows if r.test} == {'A', 'C'}


def test_summarize_checks_alignment_and_rates():
    with pytest.raises(ValueError, match="'B'.*'dauc'.*2 values.*'A'.*3"):
        summarize({'A': {'dauc': [1, 2, 3]}, 'B': {'dauc': [1, 2]}})
    with pytest.raises(ValueError, match="'C'.*'dc'.*1 values"):
        summarize({'A': {'dauc': [1, 2]}, 'B': {'dc': [1, 2]},
                   'C': {'dc': [1]}})
    with pytest.raises(ValueError, match='reference method'):
        summarize({'A': {'dauc': [1.0]}}, reference='B')
    with pytest.raises(ValueError, match='no method'):
        summarize({})
    with pytest.raises(ValueError, match='0.5'):
        summarize({'A': {'pointing': [1, 0]}, 'B': {'pointing': [1, 0.5]}},
                  rates='pointing')


def test_markdown_and_csv_tables():
    rows = summarize({'BR-NPA': {'dauc': [0.1, 0.2], 'dc': [0.5, np.nan]},
                      'Grad-CAM': {'dauc': [0.3, 0.4], 'dc': [0.1, 0.2]}})
    table = markdown_table(rows, {'dauc': False, 'dc': True})
    lines = table.strip().split('\n')
    assert lines[0] == '| method | images | DAUC ↓ | DC ↑ |'
    assert lines[1] == '|---|---|---|---|'
    assert lines[2].startswith('| BR-NPA | 2 | 0.150 [')
    assert 'n=1' in lines[2] and 'p=' not in lines[2]
    # Wilcoxon on two pairs: p = 0.5; DC has one pair only: no test.
    assert lines[3].startswith('| Grad-CAM | 2 | 0.350 [')
    assert lines[3].count('p=') == 1 and 'p=0.5 ' in lines[3]
    assert lines[4] == ''  # the legend is not a table row
    assert 'Holm-corrected over 1 test.' in lines[5]
    assert '(BR-NPA)' in lines[5]
    parsed = list(csv.DictReader(io.StringIO(csv_table(rows))))
    assert list(parsed[0]) == list(Summary._fields)
    assert len(parsed) == 4
    assert parsed[2]['method'] == 'Grad-CAM' and parsed[2]['metric'] == 'dauc'
    assert float(parsed[2]['mean']) == pytest.approx(0.35)
    assert parsed[2]['interval'] == 't' and parsed[2]['test'] == 'wilcoxon'
    assert float(parsed[2]['p_value']) == pytest.approx(0.5)
    assert parsed[0]['p_value'] == 'nan' and parsed[0]['test'] == ''


def _seed_example():
    """Three seeds of A (reference) and B, with known outcomes."""
    rng = np.random.default_rng(5)
    per_seed = {}
    for seed, (iauc, dauc, gained) in enumerate(
            [(0.1, -0.1, 20), (0.1, None, 6), (-0.1, 0.1, None)]):
        n = 40
        a = {'iauc': rng.normal(0.5, 0.2, n), 'dauc': rng.normal(0.3, 0.2, n),
             'extra': rng.normal(0, 1, n), 'pointing': np.zeros(n)}
        b = {'iauc': a['iauc'] + iauc + rng.normal(0, 0.001, n),
             'extra': a['extra'] + 1 + rng.normal(0, 0.001, n)}
        if dauc is None:  # symmetric differences: no effect
            b['dauc'] = a['dauc'] + np.repeat([0.01, -0.01], n // 2)
        else:
            b['dauc'] = a['dauc'] + dauc + rng.normal(0, 0.001, n)
        if gained is not None:
            b['pointing'] = np.zeros(n)
            b['pointing'][:gained] = 1
        per_seed[seed] = {'A': a, 'B': b}
    per_seed[2]['C'] = {'iauc': np.full(40, 0.7)}
    return per_seed


def test_summarize_seeds_counts_significant_seeds_after_holm():
    per_seed = _seed_example()
    better_is = {'iauc': True, 'dauc': False, 'pointing': True}
    rows = summarize_seeds(per_seed, 'A', rates=['pointing'],
                           higher_is_better=better_is)
    assert all(isinstance(r, SeedSummary) for r in rows)
    by_key = {(r.method, r.metric): r for r in rows}
    assert (by_key['B', 'iauc'].better, by_key['B', 'iauc'].worse) == (2, 1)
    assert (by_key['B', 'dauc'].better, by_key['B', 'dauc'].worse) == (1, 1)
    # Seed 1 gains 6 hits: raw McNemar p = 1/32 < 0.05, but Holm over the
    # seed's four tests makes it 2/32: only seed 0 counts.
    seed1 = {(r.method, r.metric): r
             for r in summarize(per_seed[1], 'A', rates=['pointing'])}
    assert seed1['B', 'pointing'].p_value == pytest.approx(1 / 32)
    assert seed1['B', 'pointing'].p_holm == pytest.approx(2 / 32)
    pointing = by_key['B', 'pointing']
    assert (pointing.better, pointing.worse, pointing.seeds) == (1, 0, 2)
    # Significant in every seed, but no direction is known for it.
    assert (by_key['B', 'extra'].better, by_key['B', 'extra'].worse) == (0, 0)
    assert all(r.better == r.worse == 0 for r in rows if r.method == 'A')
    per_seed_means = [per_seed[s]['B']['iauc'].mean() for s in range(3)]
    iauc = by_key['B', 'iauc']
    assert iauc.seeds == 3
    assert iauc.mean == pytest.approx(np.mean(per_seed_means))
    assert (iauc.low, iauc.high) == pytest.approx(
        (min(per_seed_means), max(per_seed_means)))
    assert by_key['C', 'iauc'].seeds == 1
    assert by_key['C', 'iauc'].mean == pytest.approx(0.7)
    # A stricter alpha keeps only the overwhelming effects.
    strict = {(r.method, r.metric): r
              for r in summarize_seeds(per_seed, 'A', rates=['pointing'],
                                       alpha=1e-9,
                                       higher_is_better=better_is)}
    assert strict['B', 'pointing'].better == 0

    table = seeds_markdown_table(rows, better_is, reference='A')
    lines = table.strip().split('\n')
    assert lines[0] == ('| method | seeds | IAUC ↑ | DAUC ↓ | EXTRA '
                        '| POINTING ↑ |')
    b_line = next(line for line in lines if line.startswith('| B | 3 |'))
    assert f'{iauc.mean:.3f} [{iauc.low:.3f}, {iauc.high:.3f}] better 2/3 ' \
        'worse 1/3' in b_line
    assert 'better 1/2 |' in b_line
    a_line = next(line for line in lines if line.startswith('| A | 3 |'))
    assert 'better' not in a_line and 'worse' not in a_line
    assert 'Holm' in lines[-1] and '(A)' in lines[-1]
    assert 'alpha=0.05' in lines[-1]


def test_summarize_seeds_checks_its_input():
    with pytest.raises(ValueError, match='no seed'):
        summarize_seeds({}, 'A')
    with pytest.raises(ValueError, match="'Z' is in no seed"):
        summarize_seeds({0: {'A': {'x': [1.0]}}}, 'Z')
    with pytest.raises(ValueError, match="seed 7: .*'B'.*'x'"):
        summarize_seeds({7: {'A': {'x': [1.0, 2.0]}, 'B': {'x': [1.0]}}},
                        'A')


def test_per_image_csv_round_trips():
    scores = {'A': {'dauc': [0.1, np.nan, 1 / 3], 'pointing': [1, 0, 1]},
              'B': {'dauc': [0.2, 0.3, 1e-7]}}
    ids = ['a.jpg', 'b,c.jpg', 'd.jpg']  # a comma needs quoting
    text = per_image_csv(scores, ids, seed=3)
    lines = list(csv.reader(io.StringIO(text)))
    assert lines[0] == ['seed', 'image', 'method', 'metric', 'value']
    assert len(lines) == 1 + 9
    assert lines[1] == ['3', 'a.jpg', 'A', 'dauc', '0.1']
    assert lines[2] == ['3', 'b,c.jpg', 'A', 'dauc', 'nan']
    assert lines[3][4] == '0.333333'
    assert [line[2:4] for line in lines[4:7]] == [['A', 'pointing']] * 3
    assert lines[-1] == ['3', 'd.jpg', 'B', 'dauc', '1e-07']
    back = {}
    for seed, image, method, metric, value in lines[1:]:
        back.setdefault(method, {}).setdefault(metric, []).append(
            float(value))
    for method, metrics in scores.items():
        for metric, values in metrics.items():
            np.testing.assert_allclose(back[method][metric], values,
                                       rtol=1e-5)
    assert per_image_csv({'A': {'x': [1.0]}}, ['i']).split('\n')[1] == \
        ',i,A,x,1'
    with pytest.raises(ValueError, match="'B'.*'y'.*3 values.*2 image"):
        per_image_csv({'A': {'x': [1, 2]}, 'B': {'y': [1, 2, 3]}}, ids[:2])


def test_the_curve_plot_is_written_atomically(tmp_path):
    png = plot_mean_curves(
        {'A': {'deletion': np.linspace(1, 0, 11)[None].repeat(3, 0),
               'insertion': np.linspace(0, 1, 11)[None]},
         'B': {'deletion': np.linspace(1, 0, 5)[None]}},
        str(tmp_path / 'out' / 'curves.png'), title='test')
    assert Image.open(png).size[0] > 500
    assert sorted(p.name for p in (tmp_path / 'out').iterdir()) == [
        'curves.png']
