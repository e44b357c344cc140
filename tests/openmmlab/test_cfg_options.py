"""--cfg-options keys: what mmengine reads is accepted, the rest refused."""
import os
import subprocess
import sys

import pytest

from brnpa_plugins.core.checks import UnknownKeyError
from brnpa_plugins.openmmlab.cfg_options import (SKIP_ENV, cfg_option_items,
                                                 check_cfg_options,
                                                 checked_arguments)

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from conftest import DEMO_CONFIG, REPO, tiny_config  # noqa: E402

FEWSHOT_CONFIG = os.path.join(
    REPO, 'configs', 'fewshot', 'brnpa-maml_conv4_mini-imagenet_5way-1shot.py')


def run_train(*args, cwd=REPO, **env):
    return subprocess.run(
        [sys.executable, os.path.join(REPO, 'tools', 'train.py'),
         *map(str, args)], cwd=cwd, capture_output=True, text=True,
        env=dict(os.environ, **env), timeout=600)


@pytest.mark.parametrize('option', [
    # the Runner's arguments and what it reads besides
    'model_wrapper_cfg.type=MMDistributedDataParallel',
    'model_wrapper_cfg.device_ids=None', 'sync_bn=torch', 'compile=True',
    'env_cfg.dist_cfg.backend=gloo', 'randomness.diff_rank_seed=True',
    # the optimizer wrapper and its constructor
    'optim_wrapper.clip_grad.max_norm=1.0',
    'optim_wrapper.paramwise_cfg.norm_decay_mult=0',
    'optim_wrapper.paramwise_cfg.custom_keys.backbone.lr_mult=0.1',
    'optim_wrapper.accumulative_counts=4',
    # loops, loaders, registered types (left at their defaults here)
    'train_cfg.val_begin=2', 'train_dataloader.pin_memory=False',
    'train_dataloader.sampler.seed=3', 'model.backbone.with_cp=True',
    'model.head.init_cfg=None', 'param_scheduler.1.eta_min=0.001',
    'param_scheduler.0.convert_to_iter_based=True',
    'default_hooks.logger.interval=2', 'default_hooks.timer.priority=10',
    'default_hooks.checkpoint.max_keep_ckpts=1',
    'default_hooks.checkpoint.priority=80',
    'test_evaluator.thrs=0.5', 'train_pipeline.1.prob=0.2',
    'log_processor.window_size=3',
])
def test_what_mmengine_reads_is_accepted(option):
    key, _, value = option.partition('=')
    check_cfg_options(DEMO_CONFIG, [(key, value)])


def test_the_amp_wrapper_arguments_are_known_with_amp():
    check_cfg_options(DEMO_CONFIG, [('optim_wrapper.dtype', 'float16')],
                      amp=True)


@pytest.mark.parametrize('option, closest', [
    ('train_cfg.max_epochs_typo=3', 'train_cfg.max_epochs'),
    ('trian_cfg.max_epochs=2', 'train_cfg'),
    ('model.haed.dropout=0.1', 'model.head'),
    ('model.head.dropot=0.1', 'model.head.dropout'),
    ('optim_wrapper.acumulative_counts=2', 'optim_wrapper.accumulative_counts'),
    ('train_dataloader.sampler.shufle=False',
     'train_dataloader.sampler.shuffle'),
    ('param_scheduler.1.T_mx=3', 'param_scheduler.1.T_max'),
    ('model_wrapper_cfg.device_id=None', 'model_wrapper_cfg.device_ids'),
    ('optim_wrapper.paramwise_cfg.norm_decay_mul=0',
     'optim_wrapper.paramwise_cfg.norm_decay_mult'),
    # CheckpointHook takes **kwargs, which only fail at the first save
    ('default_hooks.checkpoint.intervl=2',
     'default_hooks.checkpoint.interval'),
])
def test_a_key_mmengine_would_not_read_names_the_closest(option, closest):
    key, _, value = option.partition('=')
    with pytest.raises(UnknownKeyError) as error:
        check_cfg_options(DEMO_CONFIG, [(key, value)])
    message = str(error.value)
    assert f'--cfg-options {option}:' in message
    assert f'(did you mean {closest!r}?)' in message
    assert SKIP_ENV in message


def test_a_list_index_out_of_range_is_refused():
    with pytest.raises(UnknownKeyError, match='list of 3 items'):
        check_cfg_options(DEMO_CONFIG, [('train_pipeline.5.prob', '1')])


def test_an_overridden_config_variable_goes_to_its_copies():
    items = cfg_option_items(['--cfg-options', 'data_root=/x',
                              'test_dataloader.dataset.data_root=/y',
                              'train_pipeline.1.prob=0.2'])
    assert check_cfg_options(DEMO_CONFIG, items) == [
        ('train_dataloader.dataset.data_root', '/x'),
        ('train_dataloader.dataset.pipeline.1.prob', '0.2')]
    # a number: equal values elsewhere may be chance, so it is refused
    with pytest.raises(UnknownKeyError, match='model.head.num_classes, '
                       'data_preprocessor.num_classes'):
        check_cfg_options(DEMO_CONFIG, [('num_classes', '3')])


def test_the_user_keys_win_over_the_copies():
    argv = [DEMO_CONFIG, '--cfg-options', 'data_root=/x',
            'test_dataloader.dataset.data_root=/y']
    assert checked_arguments(argv, DEMO_CONFIG) == [
        DEMO_CONFIG, '--cfg-options',
        'train_dataloader.dataset.data_root=/x', 'data_root=/x',
        'test_dataloader.dataset.data_root=/y']


def test_the_fewshot_configs_data_section():
    assert check_cfg_options(FEWSHOT_CONFIG, [('data.root', '/x')]) == [
        (f'{split}_dataloader.dataset.root', '/x')
        for split in ('train', 'val', 'test')]
    with pytest.raises(UnknownKeyError, match=r"\(did you mean 'data.root'"):
        check_cfg_options(FEWSHOT_CONFIG, [('data.rot', '/x')])


def test_train_py_stops_on_a_misspelt_loop_argument(tmp_path):
    result = run_train(DEMO_CONFIG, '--work-dir', tmp_path / 'work',
                       '--cfg-options', 'train_cfg.max_epochs_typo=3')
    assert result.returncode == 1
    assert ("error: --cfg-options train_cfg.max_epochs_typo=3: unknown key "
            "'train_cfg.max_epochs_typo' (did you mean "
            "'train_cfg.max_epochs'?)") in result.stderr
    assert 'Traceback' not in result.stderr
    assert not (tmp_path / 'work').exists()


@pytest.fixture
def tiny_config_file(tiny_cub_root, tmp_path):
    """The tiny demo config with the demo's own data_root (no data there):
    the data set is named by --cfg-options."""
    cfg = tiny_config('data/synthetic_parts', tmp_path / 'work',
                      with_val=False)
    cfg.data_root = 'data/synthetic_parts'
    path = str(tmp_path / 'tiny.py')
    cfg.dump(path)
    return path


def test_the_check_can_be_turned_off(tiny_config_file, tiny_cub_root,
                                     tmp_path):
    result = run_train(tiny_config_file, '--cfg-options',
                       f'data_root={tiny_cub_root}',
                       'train_cfg.max_epochs_typo=3', **{SKIP_ENV: '1'})
    assert result.returncode != 0
    # unchecked, the key reaches mmengine's loop, and nothing traces the
    # variable: the config's own (missing) folder is read
    assert 'max_epochs_typo' in result.stderr
    assert 'unknown key' not in result.stderr


def test_data_root_overridden_from_another_folder(tiny_config_file,
                                                  tiny_cub_root, tmp_path):
    elsewhere = tmp_path / 'elsewhere'
    elsewhere.mkdir()
    result = run_train(tiny_config_file, '--cfg-options',
                       f'data_root={tiny_cub_root}', cwd=elsewhere)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / 'work' / 'epoch_1.pth').is_file()
    # the dataset keys directly, and a folder that does not exist
    result = run_train(tiny_config_file, '--cfg-options',
                       f'train_dataloader.dataset.data_root={tmp_path}/none',
                       cwd=elsewhere)
    assert result.returncode != 0
    assert f'{tmp_path}/none' in result.stderr
    assert 'make_synthetic_dataset.py' in result.stderr  # the project's fix


def test_a_type_given_with_its_arguments_is_the_one_checked():
    check_cfg_options(DEMO_CONFIG, [
        ('model_wrapper_cfg.type', 'MMFullyShardedDataParallel'),
        ('model_wrapper_cfg.use_orig_params', 'True')])
    with pytest.raises(UnknownKeyError, match="did you mean 'model_wrapper"):
        check_cfg_options(DEMO_CONFIG, [('model_wraper_cfg.type', 'X')])
