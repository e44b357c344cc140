"""SaliencyMetric in a real mmengine Runner, and tools/eval_saliency.py."""
import csv
import json
import os
import subprocess
import sys

import pytest
import torch
from mmengine.runner import Runner

import brnpa_plugins.openmmlab  # noqa: F401
from brnpa_plugins.openmmlab.saliency_metric import (SaliencyMetric,
                                                     SaliencyMetricHook)
from mmpretrain.registry import HOOKS, METRICS, MODELS

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
KEYS = ('dauc', 'iauc', 'dc', 'ic', 'avg_drop', 'avg_increase', 'sparsity')


def untrained(cfg, folder):
    """(config file, checkpoint) of an untrained model: the tools'
    plumbing is under test, not accuracy."""
    model = MODELS.build(dict(cfg.model,
                              data_preprocessor=cfg.data_preprocessor))
    checkpoint = str(folder / 'untrained.pth')
    torch.save({'state_dict': model.state_dict()}, checkpoint)
    config = str(folder / 'tiny.py')
    cfg.dump(config)
    return config, checkpoint


def saliency_config(cfg, method='attention', hook=True):
    cfg.test_evaluator = [
        dict(type='Accuracy', topk=(1, )),
        dict(type='SaliencyMetric', method=method, max_steps=6,
             batch_size=128),
    ]
    cfg.custom_hooks = [dict(type='SaliencyMetricHook')] if hook else []
    return cfg


def test_registered_in_mmpretrain():
    assert METRICS.get('SaliencyMetric') is SaliencyMetric
    assert HOOKS.get('SaliencyMetricHook') is SaliencyMetricHook


@pytest.mark.parametrize('method', ['attention', 'gradcam'])
def test_metric_reports_next_to_accuracy(tiny_cfg, method):
    metrics = Runner.from_cfg(saliency_config(tiny_cfg, method)).test()
    assert 0 <= metrics['accuracy/top1'] <= 100
    for key in KEYS:
        assert f'saliency/{key}' in metrics
    for key in ('dauc', 'iauc', 'avg_drop'):
        assert 0 <= metrics[f'saliency/{key}'] <= 1
    assert metrics['saliency/sparsity'] >= 1


def test_metric_without_the_hook_says_what_to_add(tiny_cfg):
    runner = Runner.from_cfg(saliency_config(tiny_cfg, hook=False))
    with pytest.raises(RuntimeError, match='SaliencyMetricHook'):
        runner.test()


def test_unknown_method_is_refused():
    with pytest.raises(ValueError, match="Unknown saliency method 'gradcam-x'"
                       ".*Did you mean 'gradcam'"):
        SaliencyMetric(method='gradcam-x')


def test_eval_saliency_tool_scores_methods_and_controls_on_ground_truth(
        tiny_cfg, tmp_path):
    config, checkpoint = untrained(tiny_cfg, tmp_path)
    out_dir = tmp_path / 'report'
    result = subprocess.run(
        [sys.executable, 'tools/eval_saliency.py', config, checkpoint,
         '--methods', 'attention', 'norm',
         '--cnn-config', config, '--cnn-checkpoint', checkpoint,
         '--cnn-methods', 'gradcam', 'rise', '--method-option',
         'rise.num_masks=8',
         '--num-images', '10', '--perturbation-images', '6',
         '--max-steps', '4', '--batch-size', '32', '--random-seeds', '2',
         '--sanity', '--out-dir', str(out_dir)],
        cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(os.listdir(out_dir)) == [
        'curves.png', 'per_image.csv', 'saliency.csv', 'saliency.md',
        'summary.json'
    ]
    table = (out_dir / 'saliency.md').read_text()
    for label in ('BR-NPA', 'BR-NPA norm map', 'uniform random (2 seeds)',
                  'centred Gaussian', 'colour saturation (no model)',
                  'oracle', 'anti-oracle', 'CNN Grad-CAM'):
        assert f'| {label} | 10 |' in table
    assert '| CNN RISE | 6 |' in table  # expensive: perturbation images
    assert 'Holm-corrected' in table and 'Benchmark validity' in table
    rows = list(csv.DictReader(open(out_dir / 'saliency.csv')))
    ground_truth = {'gt_pointing', 'gt_energy', 'gt_faithfulness',
                    'model_pointing'}
    assert {row['metric'] for row in rows} == set(KEYS) | ground_truth | {
        'gt_coverage', 'randomisation'}
    by = {(row['method'], row['metric']): row for row in rows}
    assert by[('oracle', 'gt_pointing')]['mean'] == '1'
    assert by[('anti-oracle', 'gt_pointing')]['mean'] == '0'
    assert by[('oracle', 'gt_pointing')]['interval'] == 'clopper-pearson'
    assert by[('oracle', 'gt_pointing')]['test'] == 'mcnemar'
    assert by[('oracle', 'dauc')]['test'] == 'wilcoxon'
    assert all(row['p_value'] == 'nan' for row in rows
               if row['method'] == 'BR-NPA')
    # RISE (expensive) ran on the 6 perturbation images only
    assert by[('CNN RISE', 'gt_energy')]['count'] == '6'
    assert by[('CNN Grad-CAM', 'gt_energy')]['count'] == '10'
    assert by[('BR-NPA', 'dauc')]['count'] == '6'
    per_image = list(csv.DictReader(open(out_dir / 'per_image.csv')))
    assert len({row['image'] for row in per_image}) == 10
    # every model re-run on the intervened scenes, counted per intervention
    assert 'Evidence each model uses' in table
    summary = json.loads((out_dir / 'summary.json').read_text())
    interventions = {(r['model'], r['intervention']): r
                     for r in summary['interventions']}
    names = {name for _, name in interventions}
    assert {'as rendered', 'decisive removed', 'decisive demoted',
            'distractors removed'} <= names
    assert len(interventions) == 2 * len(names)  # both models, each one
    assert {r['images'] for r in interventions.values()} == {10}
    cascade = summary['cascading_randomisation']
    assert sorted(cascade) == ['BR-NPA', 'BR-NPA norm map']
    steps = cascade['BR-NPA']
    assert len(steps) == 4 and steps[-1]['layers'] == steps[-1]['of']
    assert [s['layers'] for s in steps] == sorted(s['layers'] for s in steps)
    assert 'Cascading randomisation' in table
    rendered = interventions['BR-NPA', 'as rendered']
    assert rendered['rate'] == pytest.approx(
        summary['accuracy']['BR-NPA'])
    assert {row['method'] for row in per_image} == {
        row['method'] for row in rows}


def test_eval_saliency_tool_refuses_unknown_methods(tiny_cfg, tmp_path):
    config = str(tmp_path / 'tiny.py')
    tiny_cfg.dump(config)
    result = subprocess.run(
        [sys.executable, 'tools/eval_saliency.py', config, 'none.pth',
         '--methods', 'atention'], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 2
    assert "unknown saliency methods ['atention']" in result.stderr
    assert 'MultiScaleDeformableAttention' not in result.stderr  # known noise


def test_a_third_party_plugin_method_reaches_the_report_tool(tiny_cfg,
                                                             tmp_path):
    config, checkpoint = untrained(tiny_cfg, tmp_path)
    plugin_path = os.path.join(REPO, 'tests', 'plugin_example')
    result = subprocess.run(
        [sys.executable, 'tools/eval_saliency.py', config, checkpoint,
         '--methods', 'attention', '--controls', 'centre-bias', 'random',
         '--random-seeds', '2', '--num-images', '4', '--max-steps', '2',
         '--out-dir', str(tmp_path / 'report')],
        cwd=REPO, capture_output=True, text=True,
        env=dict(os.environ,
                 PYTHONPATH=os.pathsep.join([plugin_path, REPO])))
    assert result.returncode == 0, result.stderr[-3000:]
    table = (tmp_path / 'report' / 'saliency.md').read_text()
    # labelled by its record, as the built-in control beside it
    assert '| centre bias (no model) | 4 |' in table
    assert '| uniform random (2 seeds) | 4 |' in table
