"""``--amp`` on a CPU: bfloat16 or float16 autocast through the registered
wrapper."""
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


@pytest.mark.parametrize('dtype', ['bfloat16', 'float16'])
def test_amp_step_on_cpu_runs_under_the_dtype(tmp_path, dtype):
    cfg = tiny_config('brnpa-lowres_resnet50', 'unused', tmp_path)
    model = get_model(cfg, pretrained=False).train()
    wrapper = build_wrapper(model, dtype=dtype)
    assert isinstance(wrapper, AmpOptimWrapper)
    features = []
    model.backbone.register_forward_hook(
        lambda module, args, out: features.append(out[-1].dtype))
    before = [p.detach().clone() for p in model.parameters()]
    inputs = torch.randn(4, 3, CROP, CROP)
    samples = [DataSample().set_gt_label(i % NUM_CLASSES) for i in range(4)]
    # float16's dynamic loss scaling skips the steps whose scaled gradients
    # overflow, halving the scale each time (the first scale is 2 ** 16)
    for _ in range(20):
        log = model.train_step(dict(inputs=inputs, data_samples=samples),
                               wrapper)
        if any(not torch.equal(a, b)
               for a, b in zip(before, model.parameters())):
            break
    else:
        raise AssertionError('20 steps left the weights unchanged')
    assert features[0] == getattr(torch, dtype)
    assert torch.isfinite(log['loss'])
    scaler = wrapper.state_dict()['loss_scaler']
    if dtype == 'bfloat16':
        # The checkpoint format of the accelerator path, a disabled scaler.
        assert scaler == {}
    else:  # float16: dynamic loss scaling, as on a GPU
        assert 0 < scaler['scale'] <= 2.0 ** 16


def test_a_dtype_cpu_autocast_lacks_is_refused_with_the_reason():
    model = torch.nn.Linear(2, 2)
    with pytest.raises(ValueError, match="CPU autocast runs in 'bfloat16' "
                       "or 'float16'"):
        build_wrapper(model, dtype='float64')


@pytest.mark.parametrize('dtype, scaling', [
    ('bfloat16', ', no loss scaling'), ('float16', '')])
def test_train_tool_with_amp_on_cpu(tiny_cub_root, tmp_path, dtype, scaling):
    work_dir = tmp_path / 'work'
    config = write_config(
        tiny_config('brnpa-lowres_resnet50', tiny_cub_root, work_dir),
        tmp_path / 'amp.py')
    train(config, '--amp', '--cfg-options', f'optim_wrapper.dtype={dtype}')
    dumped = Config.fromfile(work_dir / 'amp.py')
    assert dumped.optim_wrapper.type == 'AmpOptimWrapper'
    logs = list(work_dir.glob('*/*.log'))
    assert len(logs) == 1
    # The run's own log says once which dtype autocast used.
    assert logs[0].read_text().count(
        f'AmpOptimWrapper: mixed precision with autocast dtype {dtype} on '
        f'cpu{scaling}\n') == 1
    checkpoint = torch.load(work_dir / 'epoch_1.pth', weights_only=True)
    assert bool(checkpoint['optimizer']['loss_scaler']) == (not scaling)
    assert all(torch.isfinite(v).all()
               for v in checkpoint['state_dict'].values()
               if v.is_floating_point())
