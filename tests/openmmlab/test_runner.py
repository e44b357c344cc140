"""Training, resuming and testing with the real mmengine Runner and tools."""
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine import load
from mmengine.logging import HistoryBuffer
from mmengine.runner import Runner

import brnpa_plugins.openmmlab  # noqa: F401
from brnpa_plugins.openmmlab import ATTENTION_FIELD
from brnpa_plugins.openmmlab.checkpoint import (HISTORY_KEYS,
                                                LegacyCheckpointError,
                                                load_local_checkpoint)
from brnpa_plugins.openmmlab.tools import find_mmpretrain_tool



REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def run_tool(*args):
    result = subprocess.run([sys.executable, *args], cwd=REPO,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout + result.stderr


def test_train_val_test_one_epoch(tiny_cfg):
    runner = Runner.from_cfg(tiny_cfg)
    runner.train()
    assert runner.epoch == 1
    assert os.path.isfile(os.path.join(tiny_cfg.work_dir, 'epoch_1.pth'))
    scalars = runner.message_hub.log_scalars
    assert 'val/accuracy/top1' in scalars and 'train/loss' in scalars
    metrics = runner.test()
    assert 0.0 <= metrics['accuracy/top1'] <= 100.0


def test_runner_checkpoints_load_with_a_plain_torch_load(tiny_cfg):
    Runner.from_cfg(tiny_cfg).train()
    path = os.path.join(tiny_cfg.work_dir, 'epoch_1.pth')
    # a process that never imports the plugin
    out = subprocess.run(
        [sys.executable, '-c', 'import sys, torch; c = torch.load(sys.argv[1]);'
         "print(sorted(c['message_hub']['log_scalars']['train/loss']))",
         path], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == str(sorted(HISTORY_KEYS))
    buffers = load_local_checkpoint(path)['message_hub']['log_scalars']
    assert isinstance(buffers['train/loss'], HistoryBuffer)
    assert len(buffers['train/loss'].data[0]) > 0


def test_resume_continues_from_the_saved_epoch(tiny_cub_root, tmp_path,
                                                make_tiny_config):
    work_dir = tmp_path / 'work_dir'
    Runner.from_cfg(make_tiny_config(tiny_cub_root, work_dir, epochs=1)).train()
    cfg = make_tiny_config(tiny_cub_root, work_dir, epochs=2)
    cfg.resume = True
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.epoch == 2
    # the training curve goes on from epoch 1's history
    losses = runner.message_hub.get_scalar('train/loss').data[0]
    assert len(losses) == 2 * 4  # 4 iterations per epoch (32 images / 8)


def test_project_and_mmpretrain_tools_resume_and_test(tiny_cub_root,
                                                      tmp_path,
                                                      make_tiny_config):
    cfg = make_tiny_config(tiny_cub_root, tmp_path / 'work_dir')
    config_file = str(tmp_path / 'tiny.py')
    cfg.dump(config_file)
    work_dir = str(tmp_path / 'work_dir')
    run_tool('tools/train.py', config_file, '--work-dir', work_dir)
    # mmpretrain's own train.py resumes this project's checkpoint
    log = run_tool(find_mmpretrain_tool('train'), config_file, '--work-dir',
                   work_dir, '--resume', '--cfg-options',
                   'train_cfg.max_epochs=2')
    assert 'resumed epoch: 1' in log
    checkpoint = os.path.join(work_dir, 'epoch_2.pth')
    out = str(tmp_path / 'predictions.pkl')
    log = run_tool('tools/test.py', config_file, checkpoint, '--work-dir',
                   work_dir, '--out', out)
    assert 'accuracy/top1' in log
    predictions = load(out)
    assert len(predictions) == 16
    assert predictions[0][ATTENTION_FIELD].shape == (3, 8, 8)
    log = run_tool(find_mmpretrain_tool('test'), config_file, checkpoint,
                   '--work-dir', work_dir)
    assert 'accuracy/top1' in log


def save_legacy_checkpoint(path, **extra):
    """A checkpoint as mmengine writes it when brnpa_plugins is not loaded."""
    buffer = HistoryBuffer()
    buffer.update(1.5)
    torch.save({'message_hub': {'log_scalars': {'loss': buffer},
                                'runtime_info': {'best': np.float64(0.5)},
                                'resumed_keys': {}},
                'state_dict': {'w': torch.ones(2)}, **extra}, path)


def test_legacy_checkpoint_gets_a_clear_error_and_converts(tmp_path):
    legacy = str(tmp_path / 'legacy.pth')
    save_legacy_checkpoint(legacy)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(legacy, weights_only=True)
    with pytest.raises(LegacyCheckpointError,
                       match=r'tools/upgrade_checkpoint.py .*legacy.pth'):
        load_local_checkpoint(legacy)
    run_tool('tools/upgrade_checkpoint.py', legacy)
    upgraded = torch.load(legacy, weights_only=True)  # plain values now
    assert upgraded['message_hub']['log_scalars']['loss']['log_history'] == \
        [1.5]
    assert upgraded['message_hub']['runtime_info'] == {'best': 0.5}
    resumable = load_local_checkpoint(legacy)
    assert resumable['message_hub']['log_scalars']['loss'].current() == 1.5
    assert sorted(os.listdir(tmp_path)) == ['legacy.pth']


def test_the_upgrade_tool_refuses_a_payload_unless_trusted(tmp_path):
    legacy = str(tmp_path / 'payload.pth')
    save_legacy_checkpoint(legacy, hook=os.system)  # would run on loading
    before = open(legacy, 'rb').read()
    result = subprocess.run(
        [sys.executable, 'tools/upgrade_checkpoint.py', legacy], cwd=REPO,
        capture_output=True, text=True)
    assert result.returncode == 1
    assert "payload.pth references ['posix.system']" in result.stderr
    assert '--trust' in result.stderr
    assert open(legacy, 'rb').read() == before
    # trusted, it loads, but a function cannot be stored as a plain value
    result = subprocess.run(
        [sys.executable, 'tools/upgrade_checkpoint.py', legacy, '--trust'],
        cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 1 and 'not plain values' in result.stderr
    assert sorted(os.listdir(tmp_path)) == ['payload.pth']


def test_missing_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match='nothing.pth does not exist'):
        load_local_checkpoint(str(tmp_path / 'nothing.pth'))


@pytest.mark.parametrize('stall_on, nth', [(r'epoch_2\.pth', 1),
                                           (r'last_checkpoint', 2)])
def test_a_kill_while_saving_leaves_a_resumable_work_dir(
        tiny_cub_root, tmp_path, make_tiny_config, kill_during_save,
        stall_on, nth):
    work_dir = tmp_path / 'work_dir'
    cfg = make_tiny_config(tiny_cub_root, work_dir, epochs=3, with_val=False)
    cfg.default_hooks.checkpoint.max_keep_ckpts = 1
    config_file = str(tmp_path / 'tiny.py')
    cfg.dump(config_file)
    # killed while epoch 2 is saved (before its rename), or once it is in
    # place but before last_checkpoint points to it and epoch 1 is deleted
    kill_during_save(stall_on, os.path.join(REPO, 'tools', 'train.py'),
                     config_file, '--work-dir', work_dir, nth=nth)
    last = (work_dir / 'last_checkpoint').read_text()
    assert last == str(work_dir / 'epoch_1.pth')
    assert load_local_checkpoint(last)['meta']['epoch'] == 1
    log = run_tool('tools/train.py', config_file, '--work-dir',
                   str(work_dir), '--resume')
    assert 'resumed epoch: 1' in log
    assert sorted(name for name in os.listdir(work_dir)
                  if name.endswith(('.pth', '.tmp'))) == ['epoch_3.pth']
    assert load_local_checkpoint(str(work_dir / 'epoch_3.pth'))['meta'][
        'epoch'] == 3


def test_a_misspelt_cfg_option_stops_the_tool_with_the_closest_key():
    config = os.path.join(REPO, 'configs', 'brnpa',
                          'brnpa_resnet18-w16_1xb32_synthetic-parts.py')
    result = subprocess.run(
        [sys.executable, 'tools/train.py', config, '--work-dir', 'unused',
         '--cfg-options', 'trian_cfg.max_epochs=2'], cwd=REPO,
        capture_output=True, text=True)
    assert result.returncode == 1
    assert ("unknown key 'trian_cfg' (did you mean 'train_cfg'?)"
            in result.stderr)
    assert not os.path.exists(os.path.join(REPO, 'unused'))
