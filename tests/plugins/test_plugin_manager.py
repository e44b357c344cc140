import os
import re
import subprocess
import sys
import tomllib
from importlib.metadata import distribution
from pathlib import Path

import pytest

from brnpa_plugins.evaluation.methods import saliency_methods
from brnpa_plugins.plugins import (DISABLE_AUTOLOAD_ENV, builtin_adapters,
                                   builtin_plugin_names, get_plugin_manager,
                                   plugin_sources, registered_adapters)

EXAMPLE_DIR = Path(__file__).resolve().parents[1] / 'plugin_example'


def test_default_plugins_are_registered_under_their_module_names():
    manager = get_plugin_manager()
    for name in builtin_plugin_names():
        assert manager.get_plugin(name) is not None, name


def test_builtin_adapters_and_their_install_commands():
    adapters = builtin_adapters()
    assert set(adapters) == {'openmmlab', 'reid', 'fewshot'}
    assert adapters['openmmlab'].module == 'brnpa_plugins.openmmlab'
    assert adapters['openmmlab'].install == \
        'pip install "brnpa-plugins[openmmlab]"'
    assert adapters['reid'].install == 'pip install "brnpa-plugins[torchreid]"'
    assert adapters['fewshot'].install == (
        'pip install "brnpa-plugins[fewshot]" && pip install --no-deps '
        'learn2learn==0.2.0 --config-settings=--build-option=build_ext')


def test_entry_point_plugin_is_loaded_once(example_plugin):
    manager = get_plugin_manager()
    plugin = manager.get_plugin('example')
    assert plugin is not None
    assert plugin_sources()['example'].distribution == 'brnpa-example-plugin'
    assert plugin_sources()['example'].version == '0.1.0'
    assert get_plugin_manager() is manager
    assert manager.get_plugin('example') is plugin
    assert 'centre-bias' in saliency_methods()


def test_example_dist_info_matches_its_pyproject(example_plugin):
    project = tomllib.loads((EXAMPLE_DIR / 'pyproject.toml').read_text())
    declared = project['project']['entry-points']['brnpa_plugins']
    found = distribution('brnpa-example-plugin').entry_points.select(
        group='brnpa_plugins')
    assert {ep.name: ep.value for ep in found} == declared


def test_unavailable_third_party_adapter_says_how_to_install(example_plugin):
    adapter = registered_adapters()['example']
    assert not adapter.available
    assert adapter.unavailable_reason() == (
        'brnpa_example_ecosystem is not installed; install with: '
        'pip install brnpa-example-ecosystem')


def test_builtin_adapters_ignore_entry_points(example_plugin):
    assert 'example' not in builtin_adapters()
    assert get_plugin_manager().get_plugin('example') is not None


def test_autoload_can_be_disabled(example_plugin, monkeypatch):
    monkeypatch.setenv(DISABLE_AUTOLOAD_ENV, '1')
    assert get_plugin_manager().get_plugin('example') is None
    assert 'example' not in registered_adapters()
    assert set(builtin_adapters()) <= set(registered_adapters())


def test_broken_plugin_is_reported_and_others_still_load(
        example_plugin, tmp_path, monkeypatch, write_dist_info):
    write_dist_info(tmp_path, 'brnpa-broken-plugin', '2.0',
                    {'broken': 'brnpa_module_that_does_not_exist'})
    monkeypatch.syspath_prepend(str(tmp_path))
    sources = plugin_sources()
    assert sources['broken'].version == '2.0'
    assert "No module named 'brnpa_module_that_does_not_exist'" in \
        sources['broken'].error
    assert 'example' in registered_adapters()


HEADER = """
from brnpa_plugins.evaluation.methods import SaliencyMethod
from brnpa_plugins.plugins import hookimpl
"""
BROKEN = {
    'exits': 'import sys\nsys.exit(3)\n',
    'typo': HEADER + """
@hookimpl
def brnpa_register_saliency_method(register):
    pass
""",
    'raises': HEADER + """
@hookimpl
def brnpa_register_saliency_methods(register):
    register(SaliencyMethod('kept-before-the-error', lambda m, x, t: x))
    raise RuntimeError('bad plugin')

@hookimpl
def brnpa_register_zoo_entries(register):
    register('not a ZooEntry')
""",
    'duplicate': HEADER + """
@hookimpl
def brnpa_register_saliency_methods(register):
    register(SaliencyMethod('brnpa', lambda m, x, t: x))
    register(SaliencyMethod('own-method', lambda m, x, t: x))
""",
}


@pytest.fixture
def broken_plugins(example_plugin, tmp_path, monkeypatch, write_dist_info):
    """One distribution per kind of fault, its plugin the module's source."""
    for kind, source in BROKEN.items():
        module = f'brnpa_{kind}_plugin_module'
        (tmp_path / f'{module}.py').write_text(source)
        write_dist_info(tmp_path, f'brnpa-{kind}-plugin', '1.0',
                        {kind: module})
    monkeypatch.syspath_prepend(str(tmp_path))


def test_broken_plugins_are_named_and_isolated(broken_plugins):
    from brnpa_plugins.plugins import PluginWarning, plugin_problems
    from brnpa_plugins.zoo import zoo_entries
    with pytest.warns(PluginWarning) as caught:
        methods = saliency_methods()
        entries = zoo_entries()
    problems = plugin_problems()
    assert 'SystemExit: 3' in problems['exits'][0]
    assert "brnpa_register_saliency_method (did you mean " \
        "'brnpa_register_saliency_methods'?)" in problems['typo'][0]
    assert any('RuntimeError: bad plugin' in p for p in problems['raises'])
    assert any('takes a ZooEntry, got str' in p for p in problems['raises'])
    assert any("named 'brnpa' is already registered by "
               "'brnpa_plugins.evaluation.methods'" in p
               for p in problems['duplicate'])
    # what the broken plugins did right, and every other plugin, still works
    assert {'kept-before-the-error', 'own-method', 'centre-bias',
            'attention'} <= set(methods)
    assert methods['brnpa'].description.startswith('most active BR-NPA')
    assert 'brnpa_resnet18-w16_1xb32_synthetic-parts' in entries
    assert 'example' in registered_adapters()
    text = ' '.join(str(w.message) for w in caught)
    assert "plugin 'raises' (brnpa-raises-plugin 1.0)" in text
    assert "plugin 'exits' (brnpa-exits-plugin 1.0)" in text


def test_brnpa_plugins_lists_the_problems_and_still_works(broken_plugins,
                                                          capsys):
    import warnings

    from brnpa_plugins.cli import main
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        assert main(['plugins']) == 0
        assert main(['zoo', 'list']) == 0
    out = capsys.readouterr().out
    assert 'exits  (brnpa-exits-plugin 1.0)\n  not loaded: failed to ' \
        'import: SystemExit: 3' in out
    assert 'problem: brnpa_register_saliency_methods raised RuntimeError' \
        in out
    assert 'saliency methods (1): own-method' in out  # not the duplicate


ESCAPING_ZOO = """
from brnpa_plugins.plugins import hookimpl
from brnpa_plugins.zoo import ZooEntry

ARGUMENTS = dict(task='Image Classification', dataset='Tiny',
                 config={config!r}, weights={weights!r}, sha256={sha256!r})


@hookimpl
def brnpa_register_zoo_entries(register):
    register(ZooEntry('plugin-good', **ARGUMENTS))
    register(ZooEntry('../../escaped_name', **ARGUMENTS))
"""


def test_zoo_entry_with_an_unsafe_name_is_skipped_and_nothing_escapes(
        tmp_path, monkeypatch, write_dist_info):
    """``brnpa zoo download ../../escaped_name --config --dest dl/a/b`` once
    wrote the config to dl/escaped_name.py."""
    import hashlib
    import shutil
    data = b'a checkpoint, verified by its hash'
    (tmp_path / 'tiny.pth').write_bytes(data)
    config = (Path(__file__).resolve().parents[2] / 'configs' / 'brnpa' /
              'brnpa_resnet18-w16_1xb32_synthetic-parts.py')
    plugins = tmp_path / 'plugins'
    plugins.mkdir()
    (plugins / 'escaping_zoo.py').write_text(ESCAPING_ZOO.format(
        config=str(config), weights=(tmp_path / 'tiny.pth').as_uri(),
        sha256=hashlib.sha256(data).hexdigest()))
    write_dist_info(plugins, 'brnpa-escape-plugin', '1.0',
                    {'escape': 'escaping_zoo'})
    script = shutil.which('brnpa', path=os.path.dirname(sys.executable))
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(plugins), os.environ.get('PYTHONPATH', '')]),
        BRNPA_CACHE_DIR=str(tmp_path / 'cache'))
    environment.pop(DISABLE_AUTOLOAD_ENV, None)

    def download(name):
        return subprocess.run(
            [script, 'zoo', 'download', name, '--config', '--dest',
             'dl/a/b'], cwd=tmp_path, env=environment, capture_output=True,
            text=True, timeout=300)

    refused = download('../../escaped_name')
    assert refused.returncode == 1, refused.stderr
    assert "plugin 'escape' (brnpa-escape-plugin 1.0): " \
        'brnpa_register_zoo_entries raised ValueError: Zoo entry name ' \
        "'../../escaped_name' is not a single path-safe token" in \
        refused.stderr
    assert "Unknown model-zoo name '../../escaped_name'" in refused.stderr
    assert not (tmp_path / 'dl').exists()
    kept = download('plugin-good')
    assert kept.returncode == 0, kept.stderr
    assert sorted(str(p.relative_to(tmp_path)) for p in
                  (tmp_path / 'dl').rglob('*') if p.is_file()) == [
        'dl/a/b/plugin-good.py', 'dl/a/b/tiny.pth']
    # the plugin's other entry, and every other plugin's, stay
    monkeypatch.syspath_prepend(str(plugins))
    from brnpa_plugins.plugins import PluginWarning, plugin_problems
    from brnpa_plugins.zoo import zoo_entries
    with pytest.warns(PluginWarning, match='escaped_name'):
        entries = zoo_entries()
    assert {'plugin-good', 'brnpa_resnet18-w16_1xb32_synthetic-parts'} <= \
        set(entries)
    assert '../../escaped_name' not in entries
    assert len(plugin_problems()['escape']) == 1


SLOW_HOOK = """
import time
from brnpa_plugins.plugins import SaliencyMethod, hookimpl


@hookimpl
def brnpa_register_saliency_methods(register):
    time.sleep({seconds})
    register(SaliencyMethod('slow-method', lambda m, x, t: x))
"""


def test_a_slow_hook_is_reported_with_its_plugin_and_listed(
        example_plugin, tmp_path, monkeypatch, write_dist_info, capsys):
    import warnings

    from brnpa_plugins.cli import main
    from brnpa_plugins.plugins import PluginWarning, manager, plugin_problems
    monkeypatch.setattr(manager, 'SLOW_HOOK_SECONDS', 0.5)
    (tmp_path / 'slow_plugin_module.py').write_text(
        SLOW_HOOK.format(seconds=0.6))
    write_dist_info(tmp_path, 'brnpa-slow-plugin', '1.0',
                    {'slow': 'slow_plugin_module'})
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.warns(PluginWarning) as caught:
        methods = saliency_methods()
    assert 'slow-method' in methods  # slow, not broken: its items are kept
    [warning] = [str(w.message) for w in caught if 'slow' in str(w.message)]
    assert re.fullmatch(
        r"plugin 'slow' \(brnpa-slow-plugin 1\.0\): "
        r'brnpa_register_saliency_methods took \d+\.\d s \(more than 0\.5 '
        r's\): every command that asks this hook waits for it; .+', warning)
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # reported once, not at every call
        saliency_methods()
        assert main(['plugins']) == 0
    out = capsys.readouterr().out
    assert re.search(r'slow  \(brnpa-slow-plugin 1\.0\)\n.*\n'
                     r'  saliency methods \(1\): slow-method\n'
                     r'  problem: brnpa_register_saliency_methods took ', out)
    assert len(plugin_problems()['slow']) == 1
    assert 'example' not in plugin_problems()


def _run(code):
    environment = dict(os.environ, PYTHONPATH=str(EXAMPLE_DIR))
    environment.pop(DISABLE_AUTOLOAD_ENV, None)
    result = subprocess.run([sys.executable, '-c', code], env=environment,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_import_is_cheap_and_loads_no_plugin():
    loaded = _run(
        'import sys, brnpa_plugins\n'
        'print(*[m for m in ("brnpa_example_plugin", "mmengine", "mmpretrain",'
        ' "torchreid", "learn2learn", "yaml") if m in sys.modules] or'
        ' ["none"])')
    assert loaded == ['none']


def test_import_changes_nothing_in_an_ecosystem_imported_before():
    """No import watcher, no patch: only the adapter's import changes
    mmengine (issue: import brnpa_plugins has no side effects)."""
    loaded = _run(
        'import sys, mmengine, torchreid\n'
        'from mmengine.runner import runner\n'
        'from mmengine.dist import utils\n'
        'import brnpa_plugins, brnpa_plugins.core, brnpa_plugins.plugins\n'
        'import mmpretrain\n'
        'print(*[m for m in ("brnpa_plugins.openmmlab", "brnpa_plugins.reid",'
        ' "brnpa_plugins.fewshot") if m in sys.modules] or ["none"])\n'
        'print(runner.save_checkpoint.__module__,'
        ' utils._init_dist_pytorch.__module__)\n'
        'print(type(sys.meta_path[0]).__module__.split(".")[0])')
    assert loaded[:3] == ['none', 'mmengine.runner.checkpoint',
                          'mmengine.dist.utils']
    assert loaded[3] != 'brnpa_plugins'

