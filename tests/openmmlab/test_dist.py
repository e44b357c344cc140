"""Two training processes (gloo, CPU) through tools/dist_train.sh."""
import os
import socket
import subprocess
import sys

import pytest
import torch
from mmengine.dist import utils as dist_utils

import brnpa_plugins.openmmlab  # noqa: F401  (CPU support for the launcher)

# The tests run with --import-mode=importlib: put the helpers on the path.
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from _helpers_train import (REPO, save_random_weights,  # noqa: E402
                            tiny_config, train, write_config)

BASE_LR = 0.2
BASE_BATCH = 12
#: The CPU options of docs/training.md, on the command line as documented.
CPU_OPTIONS = ['--cfg-options', 'env_cfg.dist_cfg.backend=gloo',
               'model_wrapper_cfg.type=MMDistributedDataParallel',
               'model_wrapper_cfg.device_ids=None']


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def launch(args) -> str:
    """Run tools/<args[0]> with 2 CPU processes; returns its output."""
    env = dict(os.environ, PYTHON=sys.executable, PORT=str(free_port()),
               OMP_NUM_THREADS='1', PYTHONPATH=os.pathsep.join([HERE, REPO]))
    result = subprocess.run(
        ['bash', os.path.join(REPO, 'tools', args[0]), *args[1:]], cwd=REPO,
        env=env, capture_output=True, text=True, timeout=600)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    return output


def distributed_config(data_root, work_dir, teacher, batch_size):
    """The tiny KD config, made exactly comparable across process counts.

    BatchNorm uses its running statistics (``norm_eval``; SyncBN needs a
    GPU), the data are neither shuffled nor augmented and there is no
    dropout, so one step on 2 x B images in two processes is one step on
    2B images in one process.
    """
    cfg = tiny_config('brnpa-highres-kd_resnet50', data_root, work_dir,
                      teacher=teacher, batch_size=batch_size)
    cfg.model.backbone.norm_eval = True
    cfg.model.alpha = 0.5  # the labels' cross-entropy moves the weights more
    train_data, test_data = cfg.train_dataloader, cfg.test_dataloader
    train_data.dataset.pipeline = test_data.dataset.pipeline
    cfg.train_dataloader.sampler.shuffle = False
    cfg.optim_wrapper.optimizer.lr = BASE_LR
    cfg.auto_scale_lr.base_batch_size = BASE_BATCH
    cfg.custom_imports.imports.append('_helpers_train')
    cfg.custom_hooks += [
        dict(type='GradientCheckpointingHook'),
        dict(type='SaveRankWeightsHook')
    ]
    return cfg


def test_two_processes_match_one_process_with_the_doubled_batch(
        tiny_cub_root, tmp_path):
    teacher_cfg = tiny_config('brnpa-lowres_resnet50', tiny_cub_root,
                              tmp_path)
    teacher = dict(
        config=write_config(teacher_cfg, tmp_path / 'teacher.py'),
        checkpoint=save_random_weights(teacher_cfg, tmp_path / 'teacher.pth'))

    two = tmp_path / 'two_processes'
    config = write_config(
        distributed_config(tiny_cub_root, two, teacher, batch_size=4),
        tmp_path / 'two.py')
    launch(['dist_train.sh', config, '2', '--auto-scale-lr',
            *CPU_OPTIONS])

    one = tmp_path / 'one_process'
    train(write_config(
        distributed_config(tiny_cub_root, one, teacher, batch_size=8),
        tmp_path / 'one.py'), '--auto-scale-lr')

    rank0 = torch.load(two / 'rank0.pth', weights_only=True)
    rank1 = torch.load(two / 'rank1.pth', weights_only=True)
    single = torch.load(one / 'rank0.pth', weights_only=True)
    initial = torch.load(two / 'rank0_init.pth', weights_only=True)
    assert list(rank0) == list(single)
    moved = 0.0
    for key, value in rank0.items():
        assert torch.equal(value, rank1[key]), key
        torch.testing.assert_close(value, single[key], rtol=1e-4, atol=1e-5)
        moved = max(moved, (value.float() - initial[key].float()).abs().max())
    assert moved > 1e-3

    # --auto-scale-lr scales by the total batch: 2 processes x 4 = 8.
    for work_dir in (two, one):
        checkpoint = torch.load(work_dir / 'epoch_1.pth', weights_only=True)
        lr = checkpoint['optimizer']['param_groups'][0]['initial_lr']
        assert abs(lr - BASE_LR * 8 / BASE_BATCH) < 1e-9

    # The student's checkpoint, tested by 2 processes (never the teacher).
    output = launch(['dist_test.sh', config, str(two / 'epoch_1.pth'), '2',
                     '--work-dir', str(tmp_path / 'test'), *CPU_OPTIONS])
    assert 'accuracy/top1' in output


def test_nccl_on_cpu_names_the_options_to_set():
    with pytest.raises(ValueError, match='env_cfg.dist_cfg.backend=gloo'):
        dist_utils._init_dist_pytorch('nccl')


def test_slurm_scripts_pass_the_tool_its_arguments(tmp_path):
    # A stand-in for srun that prints the command it was asked to run.
    srun = tmp_path / 'srun'
    srun.write_text('#!/bin/sh\necho "$@"\n')
    srun.chmod(0o755)
    env = dict(os.environ, PATH=f'{tmp_path}{os.pathsep}{os.environ["PATH"]}',
               GPUS='4')
    tools = os.path.join(REPO, 'tools')

    def run(script, *args):
        return subprocess.run(['bash', os.path.join(tools, script), *args],
                              env=env, capture_output=True, text=True,
                              check=True).stdout.split()

    command = run('slurm_train.sh', 'gpu', 'job', 'cfg.py', 'work', '--amp')
    assert command[command.index('-u') + 1:] == [
        os.path.join(tools, 'train.py'), 'cfg.py', '--amp',
        '--work-dir=work', '--launcher=slurm'
    ]
    assert '--ntasks=4' in command and '--gres=gpu:4' in command
    command = run('slurm_test.sh', 'gpu', 'job', 'configs/cfg.py', 'w.pth')
    assert command[command.index('-u') + 1:] == [
        os.path.join(tools, 'test.py'), 'configs/cfg.py', 'w.pth',
        '--work-dir=work_dirs/cfg', '--launcher=slurm'
    ]
