"""The re-ID tools as a user runs them: fresh interpreters, warnings on.

Every warning is shown (``-W default``): torchreid's "Cython evaluation
unavailable" note must not appear where the project's evaluation runs, and
bad input ends with one line naming the problem and the fix, no traceback.
"""
import os
import os.path as osp
import subprocess
import sys

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

CYTHON_NOTE = 'Cython evaluation (very fast so highly recommended) is'


def run(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1')
    return subprocess.run([sys.executable, '-W', 'default', *args],
                          capture_output=True, text=True, cwd=REPO, env=env,
                          timeout=300)


def tool(name: str, *args: str) -> subprocess.CompletedProcess:
    return run(osp.join(REPO, 'tools', f'{name}.py'), *args)


def test_importing_the_package_leaves_torchreids_warning_alone():
    """No filter is installed at import: torchreid's own note still shows
    for a user of torchreid's evaluation, and no filter that the imports
    add (torch's, numpy's...) would hide it."""
    result = run('-c', f"""
import warnings
before = list(warnings.filters)
import brnpa_plugins, brnpa_plugins.reid
for action, message, category, module, _ in warnings.filters:
    if (action, message, category, module) in [f[:4] for f in before]:
        continue
    assert not (action == 'ignore' and issubclass(UserWarning, category)
                and (message is None or message.match({CYTHON_NOTE!r}))
                and (module is None or module.match('torchreid'))), message
""")
    assert result.returncode == 0, result.stderr
    assert CYTHON_NOTE in result.stderr


def test_a_misspelt_override_is_refused_with_the_closest_key(tmp_path):
    result = tool('train_reid', '--root', str(tmp_path), 'train.max_epochs',
                  '3')
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "error: command-line overrides: unknown key 'train.max_epochs' (did "
        "you mean 'train.max_epoch'?); known keys of train: optim, lr, "
        'weight_decay, max_epoch, start_epoch, batch_size, fixbase_epoch, '
        'open_layers, staged_lr, new_layers, base_lr_mult, lr_scheduler, '
        'stepsize, gamma, print_freq, seed')
    assert 'Traceback' not in result.stderr
    assert CYTHON_NOTE not in result.stderr
    assert not (tmp_path / 'log').exists()


def test_a_misspelt_key_in_a_config_file_names_the_file(tmp_path):
    config = tmp_path / 'typo.yaml'
    config.write_text('model:\n  num_part: 4\n')
    for name, extra in (('train_reid', ()),
                        ('visualize_reid', ('--weights', 'x.pth',
                                            '--out-dir', str(tmp_path)))):
        result = tool(name, '--config-file', str(config), *extra)
        assert result.returncode == 1, name
        assert result.stderr.strip().splitlines()[-1].startswith(
            f"error: config file {config}: unknown key 'model.num_part' (did "
            "you mean 'model.num_parts'?)"), name
        assert 'Traceback' not in result.stderr


def test_training_and_maps_show_no_cython_note(market_root, tiny, tmp_path):
    """A real epoch and its evaluation, then the maps of its checkpoint."""
    train = tool('train_reid', '--root', market_root, *tiny,
                 'data.save_dir', str(tmp_path / 'run'))
    assert train.returncode == 0, train.stderr
    assert 'Rank-1' in train.stdout
    assert CYTHON_NOTE not in train.stderr + train.stdout
    weights = str(tmp_path / 'run' / 'model' / 'model.pth.tar-1')
    maps = tool('visualize_reid', '--root', market_root, '--weights',
                weights, '--out-dir', str(tmp_path / 'maps'),
                '--num-queries', '1', *tiny)
    assert maps.returncode == 0, maps.stderr
    assert CYTHON_NOTE not in maps.stderr + maps.stdout


def test_a_checkpoint_of_another_model_is_refused_in_one_line(
        softmax_run, market_root, tiny, tmp_path):
    save_dir, _ = softmax_run
    weights = osp.join(save_dir, 'model', 'model.pth.tar-1')
    result = tool('visualize_reid', '--root', market_root, '--weights',
                  weights, '--out-dir', str(tmp_path / 'maps'), *tiny,
                  'model.embedding_dim', '64')
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f'error: checkpoint "{weights}" does not fit')
    assert 'bottleneck.0.weight (checkpoint [32, 1536], model [64, 1536])' \
        in last and 'Traceback' not in result.stderr
    assert not (tmp_path / 'maps').exists()


def test_the_benchmark_shows_no_cython_note():
    result = tool('benchmark_reid_eval', '--num-query', '20',
                  '--num-gallery', '100', '--num-ids', '10',
                  '--num-distractors', '10', '--dim', '8', '--repeats', '1',
                  '--python-repeats', '1')
    assert result.returncode == 0, result.stderr
    assert CYTHON_NOTE not in result.stderr + result.stdout
