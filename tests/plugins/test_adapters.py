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
