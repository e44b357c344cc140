"""``--amp`` on a CPU: bfloat16 autocast through the registered wrapper."""
import os
import sys

import pytest
import torch
from mmengine.config import Config

import brnpa_plugins.openmmlab  # noqa: F401
from brnpa_plugins.openmmlab import AmpOptimWrapper
from mmpretrain.apis import get_model
from mmpretrain.registry import OPTIM_WRAPPERS
from mmpretrain.structures import DataSample

# The tests run with --import-mode=importlib: put the helpers on the path.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _helpers_train import (CROP, NUM_CLASSES, tiny_config,  # noqa: E402
                            train, write_config)


def build_wrapper(model, **kwargs):
    cfg = dict(type='AmpOptimWrapper',
               optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
               **kwargs)
    return OPTIM_WRAPPERS.build(cfg)


def test_amp_step_on_cpu_runs_under_bfloat16(tmp_path):
    cfg = tiny_config('brnpa-lowres_resnet50', 'unused', tmp_path)
    model = get_model(cfg, pretrained=False).train()
    wrapper = build_wrapper(model, dtype='bfloat16')
    assert isinstance(wrapper, AmpOptimWrapper)
    features = []
    model.backbone.register_forward_hook(
        lambda module, args, out: features.append(out[-1].dtype))
    before = [p.detach().clone() for p in model.parameters()]
    inputs = torch.randn(4, 3, CROP, CROP)
    samples = [DataSample().set_gt_label(i % NUM_CLASSES) for i in range(4)]
    log = model.train_step(dict(inputs=inputs, data_samples=samples), wrapper)
    assert features == [torch.bfloat16]
    assert torch.isfinite(log['loss'])
    assert any(not torch.equal(a, b)
               for a, b in zip(before, model.parameters()))
    # The checkpoint format of the accelerator path, with a disabled scaler.
    assert wrapper.state_dict()['loss_scaler'] == {}


def test_float16_on_cpu_is_refused_with_the_fix():
    model = torch.nn.Linear(2, 2)
    with pytest.raises(ValueError, match="optim_wrapper.dtype='bfloat16'"):
        build_wrapper(model, dtype='float16')


def test_train_tool_with_amp_on_cpu(tiny_cub_root, tmp_path):
    work_dir = tmp_path / 'work'
    config = write_config(
        tiny_config('brnpa-lowres_resnet50', tiny_cub_root, work_dir),
        tmp_path / 'amp.py')
    train(config, '--amp', '--cfg-options', 'optim_wrapper.dtype=bfloat16')
    dumped = Config.fromfile(work_dir / 'amp.py')
    assert dumped.optim_wrapper.type == 'AmpOptimWrapper'
    logs = list(work_dir.glob('*/*.log'))
    assert len(logs) == 1
    # The run's own log says once which dtype autocast used.
    assert logs[0].read_text().count(
        'AmpOptimWrapper: mixed precision with autocast dtype bfloat16 on '
        'cpu, no loss scaling') == 1
    checkpoint = torch.load(work_dir / 'epoch_1.pth', weights_only=True)
    assert checkpoint['optimizer']['loss_scaler'] == {}
    assert all(torch.isfinite(v).all()
               for v in checkpoint['state_dict'].values()
               if v.is_floating_point())
