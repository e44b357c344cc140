"""The patches of mmengine in one guarded module (openmmlab/compat.py).

The first tests watch the upstream behaviour each patch works around: when
one fails, mmengine has changed, the patch's check turns it off by itself,
and the patch (and this test) can go.
"""
import os
import subprocess
import sys

import pytest
import torch

from brnpa_plugins.openmmlab import compat

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def test_upstream_still_loads_local_checkpoints_without_weights_only():
    import inspect

    from mmengine.runner import checkpoint
    assert 'weights_only' not in inspect.getsource(checkpoint.load_from_local)
    assert compat._checkpoints_need_patch() is not None


def test_upstream_still_writes_checkpoints_in_place_and_deletes_first():
    from mmengine.hooks import CheckpointHook

    from brnpa_plugins.openmmlab.checkpoint import save_checkpoint_with_step
    assert CheckpointHook._save_checkpoint_with_step is \
        save_checkpoint_with_step
    reason = compat._saving_needs_patch()  # checks mmengine's originals
    assert reason == ('mmengine writes checkpoints in place and '
                      'CheckpointHook deletes the oldest checkpoint before it '
                      'writes the new one')


def test_upstream_amp_wrapper_still_needs_an_accelerator():
    if torch.cuda.is_available():
        pytest.skip('the patch is not needed on an accelerator')
    assert compat._amp_needs_patch() is not None


def test_upstream_pytorch_launcher_still_sets_a_cuda_device():
    import inspect

    from brnpa_plugins.openmmlab.cpu import init_process_group_on_cpu
    mmengine_init = init_process_group_on_cpu.mmengine_init  # the original
    assert mmengine_init.__module__ == 'mmengine.dist.utils'
    assert 'set_device' in inspect.getsource(mmengine_init)


def test_every_patch_is_applied_and_says_why():
    status = compat.patch_status()
    assert set(status) == {p.name for p in compat.PATCHES}
    assert all(value.startswith('applied: ') for value in status.values())


def run(code, **env):
    environment = dict(os.environ, **env)
    result = subprocess.run([sys.executable, '-c', code], env=environment,
                            capture_output=True, text=True, cwd=REPO)
    return result


PROBE = (
    'import torch\n'
    'from mmengine.dist import utils\n'
    'from mmengine.hooks import CheckpointHook\n'
    'from mmengine.runner.checkpoint import CheckpointLoader\n'
    'allowed = set(torch.serialization.get_safe_globals())\n'
    'import brnpa_plugins.openmmlab as o\n'
    'from mmengine.runner import runner\n'
    'from mmpretrain.registry import OPTIM_WRAPPERS\n'
    'print(CheckpointHook._save_checkpoint_with_step.__module__)\n'
    'print(CheckpointLoader._get_checkpoint_loader("a.pth").__module__)\n'
    'print(OPTIM_WRAPPERS.get("AmpOptimWrapper").__module__)\n'
    'print(utils._init_dist_pytorch.__module__)\n'
    'print(runner.save_checkpoint.__module__)\n'
    'added = set(torch.serialization.get_safe_globals()) - allowed\n'
    "print(all(g.__module__.startswith('torch.') for g in added))\n"
    'print(sorted(o.patch_status().items()))\n')


def test_one_patch_can_be_turned_off():
    result = run(PROBE, BRNPA_COMPAT_DISABLE='safe_checkpoints')
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    # saving still goes through the plugin, for atomic_checkpoints
    assert lines[:6] == ['brnpa_plugins.openmmlab.checkpoint',
                         'mmengine.runner.checkpoint',
                         'brnpa_plugins.openmmlab.cpu',
                         'brnpa_plugins.openmmlab.cpu',
                         'brnpa_plugins.openmmlab.checkpoint', 'True']
    assert "('safe_checkpoints', 'disabled by BRNPA_COMPAT_DISABLE')" in \
        lines[6]
    result = run(PROBE, BRNPA_COMPAT_DISABLE='atomic_checkpoints')
    lines = result.stdout.splitlines()
    assert lines[:2] == ['mmengine.hooks.checkpoint_hook',
                         'brnpa_plugins.openmmlab.checkpoint']


def test_all_patches_can_be_turned_off():
    result = run(PROBE, BRNPA_COMPAT_DISABLE='all')
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[:6] == [
        'mmengine.hooks.checkpoint_hook', 'mmengine.runner.checkpoint',
        'mmengine.optim.optimizer.amp_optimizer_wrapper',
        'mmengine.dist.utils', 'mmengine.runner.checkpoint', 'True']


def test_an_unknown_patch_name_is_refused_with_the_known_ones():
    result = run(PROBE, BRNPA_COMPAT_DISABLE='safe_checkpoint')
    assert result.returncode != 0
    assert "unknown patches ['safe_checkpoint']" in result.stderr
    assert 'cpu_amp' in result.stderr


def test_upstream_model_hub_still_reads_its_index_when_first_asked():
    assert compat._model_index_needs_patch() is not None


ZOO_PROBE = ('import brnpa_plugins.openmmlab, mmpretrain\n'
             'from mmpretrain.apis.model import ModelHub\n'
             'print(len(ModelHub._models_dict))\n'
             "print(len(mmpretrain.list_models('brnpa')))\n")


@pytest.mark.parametrize('disabled, read_at_import', [
    ('', False), ('lazy_model_index', True)])
def test_the_zoo_reaches_mmpretrain_when_it_is_first_asked(disabled,
                                                          read_at_import):
    from brnpa_plugins.zoo import read_model_index
    result = run(ZOO_PROBE, BRNPA_COMPAT_DISABLE=disabled)
    assert result.returncode == 0, result.stderr
    at_import, listed = map(int, result.stdout.split())
    assert (at_import > 0) == read_at_import
    assert listed == len([e for e in read_model_index()
                          if e.task == 'Image Classification'])
