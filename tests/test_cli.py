"""The `brnpa` command, in-process (main) and as the console script."""
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from brnpa_plugins.cli import main
from brnpa_plugins.plugins import (DISABLE_AUTOLOAD_ENV, get_plugin_manager,
                                   hookimpl, reset_plugins)
from brnpa_plugins.zoo import CACHE_ENV, MIRROR_ENV, ZooEntry

EXAMPLE_DIR = Path(__file__).resolve().parent / 'plugin_example'
BUILTIN_ADAPTERS = ('openmmlab', 'reid', 'fewshot')


@pytest.fixture(autouse=True)
def environment(tmp_path, monkeypatch):
    """The example plugin on sys.path, an empty cache, fresh plugins."""
    monkeypatch.syspath_prepend(str(EXAMPLE_DIR))
    monkeypatch.delenv(DISABLE_AUTOLOAD_ENV, raising=False)
    monkeypatch.delenv(MIRROR_ENV, raising=False)
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / 'cache'))
    reset_plugins()
    yield
    reset_plugins()


def _check_plugins_listing(text):
    for name in BUILTIN_ADAPTERS:
        assert f'adapter {name} (brnpa_plugins.{name}): available' in text
    assert 'example  (brnpa-example-plugin 0.1.0)' in text
    assert ('adapter example (brnpa_example_plugin.adapter): unavailable: '
            'brnpa_example_ecosystem is not installed; install with: '
            'pip install brnpa-example-ecosystem') in text
    assert 'saliency methods (1): centre-bias' in text


def test_plugins_lists_builtins_and_the_example(capsys):
    assert main(['plugins']) == 0
    text = capsys.readouterr().out
    _check_plugins_listing(text)
    assert 'hooks: brnpa_register_adapters, brnpa_register_saliency_methods' \
        in text
    assert 'brnpa_plugins.backbones.resnet  (brnpa-plugins' in text


def test_plugins_json(capsys):
    assert main(['plugins', '--json']) == 0
    report = {p['name']: p for p in json.loads(capsys.readouterr().out)}
    adapter = report['example']['provides']['adapters'][0]
    assert adapter['available'] is False
    assert 'pip install brnpa-example-ecosystem' in adapter['reason']
    assert report['example']['version'] == '0.1.0'


def test_console_script_lists_plugins():
    script = shutil.which('brnpa', path=os.path.dirname(sys.executable))
    assert script is not None, 'the brnpa console script is not installed'
    env = dict(os.environ, PYTHONPATH=str(EXAMPLE_DIR))
    env.pop(DISABLE_AUTOLOAD_ENV, None)
    result = subprocess.run([script, 'plugins'], env=env, text=True,
                            capture_output=True, timeout=120)
    assert result.returncode == 0, result.stderr
    _check_plugins_listing(result.stdout)


def test_zoo_list_filters(capsys):
    assert main(['zoo', 'list', '--task', 'classification', '--dataset',
                 'cub']) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ['NAME', 'TASK', 'DATASET', 'STATUS']
    assert [line.split()[0] for line in lines[1:]] == [
        f'brnpa-{kind}_{family}_8xb12_cub'
        for family in ('resnet50', 'convnext-tiny', 'deit-small-p16',
                       'swin-tiny') for kind in ('lowres', 'highres-kd')]
    assert all(line.endswith('not trained yet') for line in lines[1:])


def test_zoo_list_without_match_names_the_choices(capsys):
    assert main(['zoo', 'list', '--dataset', 'imagenet-21k']) == 1
    err = capsys.readouterr().err
    assert 'No zoo entry matches' in err and 'Market-1501' in err


def test_zoo_info(capsys):
    assert main(['zoo', 'info', 'brnpa_r50hr_distill_256x128_market1501']) == 0
    out = capsys.readouterr().out
    assert 'Person Re-Identification' in out
    assert 'not trained yet (no checkpoint published yet)' in out
    assert 'configs/brnpa/metafile.yml' in out


def test_zoo_info_unknown_name_suggests(capsys):
    assert main(['zoo', 'info', 'brnpa-highres_resnet50_cars']) == 1
    err = capsys.readouterr().err
    assert err.startswith('brnpa: error: Unknown model-zoo name')
    assert "'brnpa-highres-kd_resnet50_8xb12_cars'" in err


def test_zoo_download_without_weights(capsys):
    assert main(['zoo', 'download', 'brnpa-lowres_resnet50_8xb12_cub']) == 1
    assert 'no checkpoint published yet' in capsys.readouterr().err


def test_zoo_download_to_dest(tmp_path, capsys):
    data = b'not a real checkpoint, but verified all the same'
    source = tmp_path / 'tiny.pth'
    source.write_bytes(data)
    entry = ZooEntry('test-tiny', 'Image Classification', 'Tiny',
                     weights=source.as_uri(),
                     sha256=hashlib.sha256(data).hexdigest())

    class Plugin:

        @hookimpl
        def brnpa_register_zoo_entries(self, register):
            register(entry)

    get_plugin_manager().register(Plugin())
    dest = tmp_path / 'dest'
    assert main(['zoo', 'download', 'test-tiny', '--dest', str(dest)]) == 0
    assert capsys.readouterr().out.strip() == str(dest / 'tiny.pth')
    assert (dest / 'tiny.pth').read_bytes() == data


@pytest.mark.parametrize('argv', [[], ['zoo'], ['zoo', 'info']])
def test_missing_arguments_print_usage(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert 'usage: brnpa' in capsys.readouterr().err


@pytest.mark.parametrize('argv', [['--help'], ['plugins', '--help'],
                                  ['zoo', 'download', '--help']])
def test_help(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 0
    assert 'usage: brnpa' in capsys.readouterr().out


def test_zoo_download_config_writes_the_resolved_config(tmp_path):
    from mmengine.config import Config

    from brnpa_plugins.zoo import get_entry
    script = shutil.which('brnpa', path=os.path.dirname(sys.executable))
    name = 'brnpa_resnet18-w16_1xb32_synthetic-parts'
    dest = tmp_path / 'dest'
    result = subprocess.run(
        [script, 'zoo', 'download', name, '--dest', str(dest), '--config'],
        capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    checkpoint, config = result.stdout.split()
    assert Path(checkpoint).parent == Path(config).parent == dest
    assert Path(config).name == f'{name}.py'
    text = Path(config).read_text()
    assert '_base_' not in text  # bases merged: a standalone file
    assert Config.fromfile(config).to_dict() == Config.fromfile(
        get_entry(name).config).to_dict()
    from mmpretrain.apis import get_model
    model = get_model(config, pretrained=checkpoint)
    assert model.head.fc.out_features == 6


def test_zoo_download_config_of_an_entry_without_one(tmp_path):
    from brnpa_plugins.zoo import MetafileError
    from brnpa_plugins.zoo.config import write_entry_config
    entry = ZooEntry('no-config', 'Image Classification', 'Tiny')
    with pytest.raises(MetafileError, match="'no-config' has no Config"):
        write_entry_config(entry, tmp_path)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize('argv', [['plugins'], ['plugins', '--json'],
                                  ['zoo', 'list']])
def test_a_listing_into_a_closed_pipe_exits_quietly(argv):
    """As ``brnpa plugins | head`` once head has read enough."""
    script = shutil.which('brnpa', path=os.path.dirname(sys.executable))
    read_end, write_end = os.pipe()
    try:
        process = subprocess.Popen([script, *argv], stdout=write_end,
                                   stderr=subprocess.PIPE, text=True)
    finally:
        os.close(write_end)
        os.close(read_end)  # before the command prints its first line
    _, err = process.communicate(timeout=120)
    assert err == ''
    assert process.returncode == 141  # as a shell reports SIGPIPE
