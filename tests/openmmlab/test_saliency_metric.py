"""SaliencyMetric in a real mmengine Runner, and tools/eval_saliency.py."""
import csv
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
    with pytest.raises(ValueError, match="unknown method 'gradcam-x'"):
        SaliencyMetric(method='gradcam-x')


def test_eval_saliency_tool_writes_table_csv_and_plot(tiny_cfg, tmp_path):
    # an untrained model: the tool's plumbing is under test, not accuracy
    model = MODELS.build(
        dict(tiny_cfg.model, data_preprocessor=tiny_cfg.data_preprocessor))
    checkpoint = str(tmp_path / 'untrained.pth')
    torch.save({'state_dict': model.state_dict()}, checkpoint)
    config = str(tmp_path / 'tiny.py')
    tiny_cfg.dump(config)
    out_dir = tmp_path / 'report'
    result = subprocess.run(
        [sys.executable, 'tools/eval_saliency.py', config, checkpoint,
         '--cnn-config', config, '--cnn-checkpoint', checkpoint,
         '--cnn-methods', 'norm', 'gradcam', 'rise', '--rise-masks', '8',
         '--num-images', '10', '--max-steps', '4', '--batch-size', '32',
         '--out-dir', str(out_dir)],
        cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(os.listdir(out_dir)) == [
        'curves.png', 'saliency.csv', 'saliency.md'
    ]
    table = (out_dir / 'saliency.md').read_text()
    for label in ('BR-NPA', 'norm map (CNN)', 'Grad-CAM (CNN)',
                  'RISE (CNN)'):
        assert f'| {label} | 10 |' in table
    assert 'random maps score' in table
    rows = list(csv.DictReader(open(out_dir / 'saliency.csv')))
    assert {row['metric'] for row in rows} == set(KEYS) | {'pointing'}
    assert all(row['p_value'] == 'nan' for row in rows
               if row['method'] == 'BR-NPA')
    assert all(0 <= float(row['p_value']) <= 1 for row in rows
               if row['method'] != 'BR-NPA' and row['p_value'] != 'nan')
