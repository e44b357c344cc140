"""Tables (mean, 95% interval, Welch p-value) and mean-curve plots."""
import csv
import io
import math

import numpy as np
import pytest
from PIL import Image
from scipy import stats

from brnpa_plugins.evaluation.report import (csv_table, markdown_table,
                                             mean_interval,
                                             plot_mean_curves, summarize,
                                             write_text)


def test_interval_and_welch_test_match_scipy():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, 30), rng.normal(0.8, 2, 25)
    mean, low, high, count = mean_interval(np.append(a, np.nan))
    assert count == 30 and mean == pytest.approx(a.mean())
    expected = stats.t.interval(0.95, 29, loc=a.mean(), scale=stats.sem(a))
    assert (low, high) == pytest.approx(expected)
    rows = summarize({'A': {'dauc': a}, 'B': {'dauc': b}})
    assert math.isnan(rows[0].p_value)  # the reference itself
    assert rows[1].p_value == pytest.approx(
        stats.ttest_ind(b, a, equal_var=False).pvalue)


def test_markdown_and_csv_tables():
    rows = summarize({'BR-NPA': {'dauc': [0.1, 0.2], 'dc': [0.5, np.nan]},
                      'Grad-CAM': {'dauc': [0.3, 0.4], 'dc': [0.1, 0.2]}})
    table = markdown_table(rows, {'dauc': False, 'dc': True})
    lines = table.strip().split('\n')
    assert lines[0] == '| method | images | DAUC ↓ | DC ↑ |'
    assert lines[2].startswith('| BR-NPA | 2 | 0.150 [')
    assert 'n=1' in lines[2] and 'p=' in lines[3]
    parsed = list(csv.DictReader(io.StringIO(csv_table(rows))))
    assert len(parsed) == 4
    assert parsed[2]['method'] == 'Grad-CAM' and parsed[2]['metric'] == 'dauc'
    assert float(parsed[2]['mean']) == pytest.approx(0.35)
    with pytest.raises(ValueError, match='reference method'):
        summarize({'A': {'dauc': [1.0]}}, reference='B')


def test_files_are_written_atomically(tmp_path):
    path = write_text(str(tmp_path / 'out' / 'table.md'), 'hello\n')
    assert open(path).read() == 'hello\n'
    png = plot_mean_curves(
        {'A': {'deletion': np.linspace(1, 0, 11)[None].repeat(3, 0),
               'insertion': np.linspace(0, 1, 11)[None]},
         'B': {'deletion': np.linspace(1, 0, 5)[None]}},
        str(tmp_path / 'out' / 'curves.png'), title='test')
    assert Image.open(png).size[0] > 500
    assert sorted(p.name for p in (tmp_path / 'out').iterdir()) == [
        'curves.png', 'table.md']
