"""The README's main job, tools/demo.py, end to end on a shrunk setting."""
import json
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_demo(tmp_path, *args):
    """tools/demo.py on one thread with its output and data in tmp_path;
    returns the output folder and the finished process (checked)."""
    out = tmp_path / 'demo'
    result = subprocess.run(
        [sys.executable, 'tools/demo.py', '--out-dir', str(out),
         '--data-root', str(tmp_path / 'data'), '--threads', '1', *args],
        cwd=REPO, capture_output=True, text=True,
        env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert result.returncode == 0, result.stderr[-3000:]
    return out, result


@pytest.mark.slow
def test_demo_trains_scores_controls_over_seeds_and_draws(tmp_path):
    out, result = run_demo(
        tmp_path, '--train-per-class', '6', '--test-per-class', '3',
        '--epochs', '1', '--seeds', '0', '1', '--perturbation-images', '4',
        '--max-steps', '4', '--rise-masks', '8', '--random-seeds', '2',
        '--num-maps', '4', '--check-readme')
    metrics = json.loads((out / 'metrics.json').read_text())
    assert metrics['test_images'] == 18 and metrics['num_classes'] == 6
    assert 0 <= metrics['accuracy'] <= 1
    assert metrics['seeds'] == [0, 1]
    # every step ran with the pinned thread count and CPU kernels
    assert metrics['threads'] == 1
    assert '+ OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 ATEN_CPU_CAPABILITY=avx2' \
        in result.stdout
    assert {(r['model'], r['intervention']) for r in
            metrics['interventions']} >= {('BR-NPA', 'decisive removed'),
                                          ('GAP CNN', 'roles swapped')}
    assert {'BR-NPA', 'oracle', 'anti-oracle', 'GAP CNN Grad-CAM',
            'GAP CNN RISE'} <= set(metrics['means'])
    assert isinstance(metrics['benchmark_valid'], bool)
    for seed in (0, 1):
        report = out / f'seed_{seed}' / 'benchmark'
        assert (report / 'per_image.csv').is_file()
        assert 'Holm-corrected' in (report / 'saliency.md').read_text()
    seeds = (out / 'seeds.md').read_text()
    assert '| BR-NPA | 2 |' in seeds
    assert sorted(os.listdir(out / 'maps')) == [
        '00.png', '01.png', '02.png', '03.png', 'overview.png']
    assert 'data-only probes: colour histogram' in result.stdout
    assert set(metrics['probes']) == {'colour histogram', 'patch statistics',
                                      'co-occurrence'}
    assert metrics['dataset']['variant'] == 'two-tone-rim'
    assert 'benchmark valid' in result.stdout
    # a shrunk run is not the README's: every row differs, and says where
    # this run's rows are
    assert "rows differ from this run's (BR-NPA, " in result.stdout
    assert (out / 'compact.md').read_text().startswith('| method |')


@pytest.mark.parametrize('option, message', [
    ('nope=1', "'nope=1': expected FIELD=VALUE with FIELD one of"),
    ('image_size=big', "'image_size=big': image_size takes a int"),
])
def test_demo_refuses_a_bad_dataset_field(tmp_path, option, message):
    result = subprocess.run(
        [sys.executable, 'tools/demo.py', '--out-dir', str(tmp_path),
         '--dataset', option], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 2 and message in result.stderr


def test_demo_names_the_field_a_variant_cannot_take(tmp_path):
    result = subprocess.run(
        [sys.executable, 'tools/demo.py', '--out-dir', str(tmp_path),
         '--data-root', str(tmp_path / 'data'), '--variant', 'two-tone-rim',
         '--dataset', 'distractors=5'],
        cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 1
    assert 'error: --dataset / --variant:' in result.stderr
    assert 'distractors' in result.stderr
    assert not (tmp_path / 'data').exists()


@pytest.mark.slow
def test_a_shortcut_run_reports_the_marker_without_randomisation(tmp_path):
    out, result = run_demo(
        tmp_path, '--train-per-class', '4', '--test-per-class', '2',
        '--epochs', '1', '--dataset', 'shortcut=marker', '--no-randomisation',
        '--perturbation-images', '2', '--expensive-images', '2',
        '--max-steps', '2', '--rise-masks', '4', '--random-seeds', '1',
        '--num-maps', '1')
    metrics = json.loads((out / 'metrics.json').read_text())
    assert metrics['randomisation'] is False
    assert metrics['dataset']['shortcut'] == 'marker'
    assert 'shortcut_pointing' in metrics['means']['BR-NPA']
    assert not any('untrained' in name for name in metrics['means'])
    assert 'randomisation' not in metrics['means']['BR-NPA']
    assert {r['intervention'] for r in metrics['interventions']} >= {
        'marker removed', 'marker recoded'}
    assert 'SHORTCUT_POINTING' in result.stdout
    compact = (out / 'compact.md').read_text()
    assert 'planted shortcut' in compact and '| marker recoded |' in compact


def test_readme_differences_names_the_rows_a_readme_lacks(monkeypatch):
    monkeypatch.syspath_prepend(os.path.join(REPO, 'tools'))
    import importlib
    demo = importlib.import_module('demo')
    table = ('| method | images | DAUC |\n|---|---|---|\n'
             '| BR-NPA | 240 | 0.228 |\n| oracle | 240 | 0.206 |\n\n'
             '| model | as rendered |\n|---|---|\n| BR-NPA | 1.000 |\n')
    readme = 'text\n| BR-NPA | 240 | 0.228 |\n| oracle | 240 | 0.207 |\n'
    assert demo.readme_differences(table, readme) == ['oracle', 'BR-NPA']
    assert demo.readme_differences(table, readme + '| oracle | 240 | 0.206 |'
                                   '\n| BR-NPA | 1.000 |\n') == []


def test_the_readme_holds_the_rows_of_the_saved_demo_run(monkeypatch):
    """docs/results/demo_compact.md is the compact.md of the `make demo`
    run the README describes; its tables must be the README's."""
    with open(os.path.join(REPO, 'docs', 'results',
                           'demo_compact.md')) as stream:
        saved = stream.read()
    with open(os.path.join(REPO, 'README.md')) as stream:
        readme = stream.read()
    monkeypatch.syspath_prepend(os.path.join(REPO, 'tools'))
    import importlib
    demo = importlib.import_module('demo')
    assert saved.count('\n| ') > 10
    assert demo.readme_differences(saved, readme) == []
