import inspect
from pathlib import Path

from brnpa_plugins.plugins import get_plugin_manager, hookspecs

DOCS = Path(__file__).resolve().parents[2] / 'docs' / 'plugins.md'


def _hooks():
    return {name: obj for name, obj in vars(hookspecs).items()
            if inspect.isfunction(obj) and
            hasattr(obj, f'{hookspecs.PROJECT_NAME}_spec')}


def test_hooks_follow_the_naming_convention():
    names = set(_hooks())
    assert names == {'brnpa_register_adapters', 'brnpa_register_backbones',
                     'brnpa_register_zoo_entries',
                     'brnpa_register_saliency_methods'}
    for name, hook in _hooks().items():
        assert list(inspect.signature(hook).parameters) == ['register'], name


def test_every_hook_is_documented():
    docs = DOCS.read_text()
    for name, hook in _hooks().items():
        assert (hook.__doc__ or '').strip(), f'{name} has no docstring'
        assert f'`{name}' in docs, f'{name} is missing from {DOCS}'


def test_manager_knows_every_hook():
    manager = get_plugin_manager()
    for name in _hooks():
        assert manager.hook.__dict__[name].spec is not None
