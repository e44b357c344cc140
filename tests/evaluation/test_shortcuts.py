"""Data-only shortcut probes: at chance where the classes leave no trace in
global statistics or co-occurrence, above it where they do."""
import os
import subprocess
import sys

import numpy as np
import pytest

from brnpa_plugins.data import SyntheticPartsConfig, generate_part_dataset
from brnpa_plugins.evaluation.shortcuts import (ShortcutScore,
                                                cooccurrence_accuracy,
                                                probe_accuracy, probe_table,
                                                shortcut_probes)
from brnpa_plugins.evaluation.statistics import rate_interval

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
TWO_TONE_COMPLETE = dict(variant='two-tone-rim', image_size=112,
                         part_size=12, distractors=6,
                         distractor_colours='complete')


def tiny(tmp_path_factory, name, **options):
    config = SyntheticPartsConfig(train_per_class=30, test_per_class=15,
                                  **options)
    return generate_part_dataset(str(tmp_path_factory.mktemp(name) / name),
                                 config)


@pytest.fixture(scope='module')
def complete_root(tmp_path_factory):
    return tiny(tmp_path_factory, 'complete', **TWO_TONE_COMPLETE)


@pytest.fixture(scope='module')
def complete_probes(complete_root):
    return shortcut_probes(complete_root)


def test_probe_accuracy_reads_the_features_it_is_given():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(4), 30)
    train = np.tile([True, True, False], 40)
    separable = np.eye(4)[labels] + rng.normal(0, 0.1, (120, 4))
    score = probe_accuracy(separable, labels, train)
    assert score == ShortcutScore(1.0, 0.25, 40, 40, 80)
    noise = probe_accuracy(rng.normal(size=(120, 4)), labels, train)
    assert noise.accuracy < 0.5
    with pytest.raises(ValueError, match='both splits'):
        probe_accuracy(separable, labels, np.ones(120, dtype=bool))


def test_every_probe_is_at_chance_on_two_tone_complete(complete_probes):
    probes = complete_probes
    assert list(probes) == ['colour histogram', 'patch statistics',
                            'co-occurrence']
    for name, score in probes.items():
        assert score.test_images == 90 and score.chance == pytest.approx(
            1 / 6)
        interval = rate_interval(score.correct, score.test_images)
        assert interval.low <= score.chance <= interval.high, (name, score)
    # every image shows the same objects: nothing to learn
    assert probes['co-occurrence'].accuracy == pytest.approx(1 / 6)


def test_co_occurrence_leaks_the_class_with_independent_distractors(
        tmp_path_factory):
    """The default variant: distractors painted independently of the class
    still tell which assignments are present."""
    score = cooccurrence_accuracy(tiny(tmp_path_factory, 'leaky'))
    assert rate_interval(score.correct, score.test_images).low > 0.3, score


def test_the_image_probes_see_a_planted_marker(tmp_path_factory):
    root = tiny(tmp_path_factory, 'marked', shortcut='marker',
                **TWO_TONE_COMPLETE)
    score = shortcut_probes(root)['colour histogram']
    assert rate_interval(score.correct, score.test_images).low > 0.3, score


def test_the_tool_prints_each_probe_next_to_chance(complete_root,
                                                   complete_probes):
    result = subprocess.run(
        [sys.executable, 'tools/shortcut_probes.py', complete_root],
        cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith(probe_table(complete_probes))
    assert '| co-occurrence | 0.167 [' in result.stdout
    assert '| 0.167 | 90 |' in result.stdout
    assert '| map (8 px cells) | GT_POINTING' in result.stdout
    assert '| oracle | 1.000 |' in result.stdout
    missing = subprocess.run(
        [sys.executable, 'tools/shortcut_probes.py', complete_root + '-x'],
        cwd=REPO, capture_output=True, text=True)
    assert missing.returncode == 2 and 'images.txt' in missing.stderr
