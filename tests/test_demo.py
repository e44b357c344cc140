"""The README's main job, tools/demo.py, end to end on a shrunk setting."""
import json
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.slow
def test_demo_trains_scores_controls_over_seeds_and_draws(tmp_path):
    out = tmp_path / 'demo'
    result = subprocess.run(
        [sys.executable, 'tools/demo.py', '--out-dir', str(out),
         '--data-root', str(tmp_path / 'data'), '--train-per-class', '6',
         '--test-per-class', '3', '--epochs', '1', '--seeds', '0', '1',
         '--perturbation-images', '4', '--max-steps', '4',
         '--rise-masks', '8', '--random-seeds', '2', '--num-maps', '4',
         '--threads', '1'],
        cwd=REPO, capture_output=True, text=True,
        env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert result.returncode == 0, result.stderr[-3000:]
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
