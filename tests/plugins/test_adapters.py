import pytest

from brnpa_plugins.plugins import Adapter, AdapterUnavailableError
from brnpa_plugins.plugins.adapters import module_installed


def _missing_ecosystem():
    return Adapter(name='missing', module='brnpa_plugins.core',
                   requires=('json', 'brnpa_no_such_ecosystem'),
                   install='pip install brnpa-no-such-ecosystem')


def test_missing_ecosystem_gives_reason_and_install_command():
    adapter = _missing_ecosystem()
    assert not adapter.available
    assert adapter.unavailable_reason() == (
        'brnpa_no_such_ecosystem is not installed; install with: '
        'pip install brnpa-no-such-ecosystem')
    with pytest.raises(AdapterUnavailableError,
                       match="'missing' adapter is unavailable: "
                       'brnpa_no_such_ecosystem is not installed'):
        adapter.activate()


def test_missing_adapter_module_is_unavailable():
    adapter = Adapter('ghost', module='brnpa_plugins.no_such_adapter',
                      requires='json', install='pip install json')
    assert adapter.unavailable_reason() == (
        'its module brnpa_plugins.no_such_adapter cannot be found; '
        'reinstall the package that provides it')


def test_available_adapter_activates_by_import():
    adapter = Adapter('core', module='brnpa_plugins.core', requires='torch',
                      install='pip install torch')
    assert adapter.available and adapter.requires == ('torch', )
    assert adapter.activate().__name__ == 'brnpa_plugins.core'
    assert adapter.active


@pytest.mark.parametrize('kwargs, message', [
    (dict(name=''), 'name must be a non-empty string'),
    (dict(requires=()), 'requires must be a module name'),
    (dict(install=' '), 'install must be the command'),
])
def test_adapter_validates_its_arguments(kwargs, message):
    arguments = dict(name='x', module='x', requires='x', install='pip x')
    with pytest.raises(ValueError, match=message):
        Adapter(**{**arguments, **kwargs})


def test_module_installed_does_not_import():
    assert module_installed('json')
    assert not module_installed('brnpa_no_such_ecosystem')
    assert not module_installed('brnpa_no_such_ecosystem.sub')


def test_a_third_party_adapter_activates_like_a_built_in(tmp_path,
                                                        write_dist_info):
    """Entry point -> `brnpa plugins`; its module in a config's
    custom_imports registers into mmpretrain, as brnpa_plugins.openmmlab."""
    import os
    import subprocess
    import sys
    package = tmp_path / 'brnpa_thirdparty'
    package.mkdir()
    (package / '__init__.py').write_text(
        'from brnpa_plugins.plugins import Adapter, hookimpl\n'
        '@hookimpl\n'
        'def brnpa_register_adapters(register):\n'
        "    register(Adapter('thirdparty', 'brnpa_thirdparty.mm',\n"
        "                     ('mmengine', 'mmpretrain'), 'pip install x'))\n")
    (package / 'mm.py').write_text(
        'from mmpretrain.models import GlobalAveragePooling\n'
        'from mmpretrain.registry import MODELS\n'
        '@MODELS.register_module()\n'
        'class ThirdPartyNeck(GlobalAveragePooling):\n'
        '    pass\n')
    write_dist_info(tmp_path, 'brnpa-thirdparty', '1.0',
                    {'thirdparty': 'brnpa_thirdparty'})
    config = tmp_path / 'cfg.py'
    config.write_text("custom_imports = dict(imports=['brnpa_thirdparty.mm'],"
                      ' allow_failed_imports=False)\n')
    code = (
        'from brnpa_plugins.cli import main\n'
        "main(['plugins'])\n"
        'from mmengine.config import Config\n'
        f'Config.fromfile({str(config)!r})\n'
        'from mmpretrain.registry import MODELS\n'
        "print(type(MODELS.build(dict(type='ThirdPartyNeck'))).__name__)\n")
    result = subprocess.run(
        [sys.executable, '-c', code], capture_output=True, text=True,
        env=dict(os.environ, PYTHONPATH=str(tmp_path)))
    assert result.returncode == 0, result.stderr
    assert 'adapter thirdparty (brnpa_thirdparty.mm): available' in \
        result.stdout
    assert result.stdout.strip().endswith('ThirdPartyNeck')
