"""tools/train_fewshot.py end to end on the tiny data: pre-training, then
episodes from it, then the test and metrics.json; resume; kill -9 while a
checkpoint is saved; a misspelt --cfg-options key."""
import json
import os

import pytest

from brnpa_plugins.core.checks import UnknownKeyError
from brnpa_plugins.core.io import load_checkpoint_file

from .conftest import FIVE_SHOT, ONE_SHOT, REPO, tiny_options


def arguments(config, work_dir, root, *options, **tiny):
    return [config, '--work-dir', str(work_dir), '--cfg-options',
            *tiny_options(root, **tiny), *options]


def check_metrics(work_dir, metrics, shots=2):
    """metrics.json holds the test result in percent; returns its test."""
    test = json.loads((work_dir / 'metrics.json').read_text(
        encoding='utf-8'))['test']
    assert test['accuracy_pct'] == pytest.approx(metrics['fewshot/accuracy'])
    assert test['ci95_pct'] == pytest.approx(metrics['fewshot/ci95'])
    assert 0 <= test['accuracy_pct'] <= 100 and test['ci95_pct'] >= 0
    assert test['result'] == \
        f"{test['accuracy_pct']:.1f} \u00b1 {test['ci95_pct']:.1f}"
    assert (test['episodes'], test['ways'], test['shots']) == (3, 5, shots)
    assert not [name for name in os.listdir(work_dir)
                if name.endswith('.tmp')]
    return test


def test_pretraining_tests_its_last_epoch(pretrained):
    work_dir, metrics = pretrained
    assert load_checkpoint_file(work_dir / 'epoch_1.pth')['meta'][
        'epoch'] == 1
    # No validation checkpoint to choose: the model just trained is tested.
    assert check_metrics(work_dir, metrics)['checkpoint'] is None
    assert sorted(os.listdir(work_dir / 'maps')) == [
        'query_000.png', 'query_001.png', 'support_000.png',
        'support_001.png']


def test_episodes_from_the_pretraining_then_the_best_is_tested(
        train_fewshot, pretrained, pickle_root, tmp_path):
    path = pretrained[0] / 'epoch_1.pth'
    metrics = train_fewshot(arguments(FIVE_SHOT, tmp_path, pickle_root,
                                      f'model.pretrained={path}'))
    test = check_metrics(tmp_path, metrics)
    best = [name for name in os.listdir(tmp_path)
            if name.startswith('best_fewshot_accuracy_iter_')]
    assert len(best) == 1 and test['checkpoint'] == str(tmp_path / best[0])
    log = next((tmp_path).glob('*/*.log')).read_text()
    assert f'learner weights loaded from {path}' in log
    assert f'testing {tmp_path / best[0]}' in log


def test_resume_continues_where_training_stopped(train_fewshot, pickle_root,
                                                 tmp_path):
    train_fewshot(arguments(ONE_SHOT, tmp_path, pickle_root, max_iters=2))
    assert (tmp_path / 'last_checkpoint').read_text().endswith('iter_2.pth')
    metrics = train_fewshot(arguments(ONE_SHOT, tmp_path, pickle_root,
                                      max_iters=4) + ['--resume'])
    assert load_checkpoint_file(tmp_path / 'iter_4.pth')['meta'][
        'iter'] == 4
    check_metrics(tmp_path, metrics, shots=2)
    # One log per run, named by the second it started: two runs that start
    # within one second share a file, which the second run writes after the
    # first.
    logs = sorted(tmp_path.glob('*/*.log'))
    assert 1 <= len(logs) <= 2
    resumed = logs[-1].read_text()
    resumed = resumed[resumed.index('resumed epoch'):]
    assert 'resumed epoch: 0, iter: 2' in resumed
    assert 'resuming at episode iteration 2' in resumed
    # Only iterations 3 and 4 ran after the resume.
    assert 'Iter(train) [1/4]' not in resumed
    assert 'Iter(train) [4/4]' in resumed


def test_a_kill_while_saving_leaves_it_resumable(
        train_fewshot, pickle_root, tmp_path, kill_during_save):
    work_dir = tmp_path / 'work'
    options = arguments(ONE_SHOT, work_dir, pickle_root)
    # killed while iter_4.pth is written, before its rename
    partial = kill_during_save(r'^\.?iter_4\.pth',
                               os.path.join(REPO, 'tools',
                                            'train_fewshot.py'), *options)
    assert os.path.basename(partial).startswith('.iter_4.pth.')
    assert (work_dir / 'last_checkpoint').read_text() == str(
        work_dir / 'iter_2.pth')
    assert not (work_dir / 'iter_4.pth').exists()
    assert not (work_dir / 'metrics.json').exists()
    metrics = train_fewshot(options + ['--resume'])
    assert load_checkpoint_file(work_dir / 'iter_4.pth')['meta'][
        'iter'] == 4
    check_metrics(work_dir, metrics)  # and no temporary file left


@pytest.mark.parametrize('option, message', [
    ('trian_cfg.max_iters=3', "unknown key 'trian_cfg' (did you mean "
     "'train_cfg'?)"),
    ('model.lerner.widths=(8,8,8,8)', "unknown key 'model.lerner' (did you "
     "mean 'model.learner'?)"),
    ('test_dataloader.datset.root=x', "unknown key 'test_dataloader.datset' "
     "(did you mean 'test_dataloader.dataset'?)"),
])
def test_a_misspelt_cfg_option_stops_before_anything_is_written(
        train_fewshot, pickle_root, tmp_path, option, message):
    with pytest.raises(UnknownKeyError) as error:
        train_fewshot(arguments(ONE_SHOT, tmp_path / 'work', pickle_root,
                                option))
    assert message in str(error.value)
    assert not (tmp_path / 'work').exists()


def test_amp_trains_on_a_cpu_in_bfloat16(train_fewshot, pickle_root,
                                         tmp_path):
    metrics = train_fewshot(arguments(ONE_SHOT, tmp_path, pickle_root,
                                      max_iters=2) + ['--amp'])
    assert 0 <= metrics['fewshot/accuracy'] <= 100
    log = next(tmp_path.glob('*/*.log')).read_text()
    assert 'autocast dtype bfloat16 on cpu' in log


def test_a_misspelt_model_argument_is_named(train_fewshot, pickle_root,
                                            tmp_path):
    with pytest.raises(TypeError, match="did you mean 'num_parts'"):
        train_fewshot(arguments(ONE_SHOT, tmp_path, pickle_root,
                                'model.learner.num_part=2'))


def test_a_missing_root_stops_before_training(train_fewshot, tmp_path):
    with pytest.raises(FileNotFoundError,
                       match='mini-imagenet-cache-train.pkl') as error:
        train_fewshot(arguments(ONE_SHOT, tmp_path / 'work',
                                tmp_path / 'no-data'))
    assert 'Downloads are disabled' in str(error.value)
    assert not (tmp_path / 'no-data').exists()
    assert not list((tmp_path / 'work').glob('*.pth'))


def test_the_arguments_reach_the_config(train_fewshot_tool):
    tool = train_fewshot_tool
    cfg = tool.build_config(tool.parse_args([ONE_SHOT, '--amp', '--resume',
                                             'x.pth', '--launcher',
                                             'pytorch']))
    assert cfg.optim_wrapper.type == 'mmpretrain.AmpOptimWrapper'
    assert cfg.optim_wrapper.loss_scale == 'dynamic'
    assert (cfg.resume, cfg.load_from, cfg.launcher) == (True, 'x.pth',
                                                        'pytorch')
    assert cfg.work_dir == os.path.join(
        'work_dirs', os.path.splitext(os.path.basename(ONE_SHOT))[0])
    again = tool.build_config(tool.parse_args([ONE_SHOT, '--resume']))
    assert (again.resume, again.load_from) == (True, None)
    assert again.optim_wrapper.type == 'OptimWrapper'
    # A run of its own: mmengine keys its message hub by this name.
    assert again.experiment_name != cfg.experiment_name


def test_the_data_section_of_the_config_can_be_overridden(
        train_fewshot, pickle_root, tmp_path):
    # data.root is copied into the three data sets: the override goes there
    options = [option for option in arguments(ONE_SHOT, tmp_path,
                                              pickle_root, max_iters=2)
               if '.dataset.root=' not in option]
    metrics = train_fewshot(options + [f'data.root={pickle_root}'])
    assert 0 <= metrics['fewshot/accuracy'] <= 100
    with pytest.raises(UnknownKeyError, match=r"\(did you mean 'data.root'"):
        train_fewshot(options + [f'data.rot={pickle_root}'])


def test_the_tool_prints_no_known_noise_and_the_projects_warnings(
        pickle_root, tmp_path):
    import re
    import subprocess
    import sys

    from brnpa_plugins.core.noise import KNOWN_NOISE
    result = subprocess.run(
        [sys.executable, os.path.join(REPO, 'tools', 'train_fewshot.py'),
         *arguments(ONE_SHOT, tmp_path, pickle_root, max_iters=2),
         'train_dataloader.dataset.num_episodes=1'],
        cwd=REPO, capture_output=True, text=True, timeout=600)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert [entry.message for entry in KNOWN_NOISE
            if re.search(entry.message, output)] == []
    # the project's own warning: the one training episode repeats
    assert 'WARNING - the 1 training episodes (num_episodes) repeat' in output
