"""The plugin manager: built-in plugins, entry-point plugins, registrations.

Built-in plugins (``DEFAULT_PLUGINS``) are registered when the manager is
first needed; they import nothing heavy. Third-party plugins, declared in the
``brnpa_plugins`` entry-point group, are loaded once, on the first call of
:func:`get_plugin_manager`, unless ``BRNPA_PLUGINS_DISABLE_AUTOLOAD=1``.
"""
import difflib
import importlib
import importlib.metadata
import os
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

import pluggy

from . import hookspecs
from .adapters import Adapter
from .on_import import call_after_import

#: Entry-point group third-party plugins declare (in pyproject.toml:
#: ``[project.entry-points.brnpa_plugins] name = "package.module"``).
ENTRY_POINT_GROUP = hookspecs.PROJECT_NAME
#: Set to 1 to skip loading third-party plugins.
DISABLE_AUTOLOAD_ENV = 'BRNPA_PLUGINS_DISABLE_AUTOLOAD'

DEFAULT_PLUGINS = (
    'brnpa_plugins.plugins.builtin.openmmlab',
    'brnpa_plugins.plugins.builtin.reid',
    'brnpa_plugins.plugins.builtin.fewshot',
    'brnpa_plugins.plugins.builtin.resnet',
    'brnpa_plugins.plugins.builtin.model_zoo',
    'brnpa_plugins.plugins.builtin.saliency',
)


@dataclass
class PluginSource:
    """Where a plugin comes from: this package or a distribution."""
    distribution: str
    version: str
    error: Optional[str] = None  # why an entry point failed to load


@dataclass
class _State:
    manager: pluggy.PluginManager
    sources: Dict[str, PluginSource] = field(default_factory=dict)
    entry_points_loaded: bool = False


_state: Optional[_State] = None


def _builtin_state() -> _State:
    global _state
    if _state is None:
        from ..version import __version__
        manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        manager.add_hookspecs(hookspecs)
        state = _State(manager)
        for name in DEFAULT_PLUGINS:
            manager.register(importlib.import_module(name), name=name)
            state.sources[name] = PluginSource('brnpa-plugins', __version__)
        _state = state
    return _state


def autoload_disabled() -> bool:
    """Whether ``BRNPA_PLUGINS_DISABLE_AUTOLOAD`` turns off entry points."""
    value = os.environ.get(DISABLE_AUTOLOAD_ENV, '').strip().lower()
    return value not in ('', '0', 'false', 'no')


def _load_entry_points(state: _State) -> None:
    for dist in importlib.metadata.distributions():
        for entry_point in dist.entry_points.select(group=ENTRY_POINT_GROUP):
            name = entry_point.name
            if name in state.sources:
                continue  # the same distribution seen twice on sys.path
            source = PluginSource(dist.metadata['Name'], dist.version)
            state.sources[name] = source
            try:
                plugin = entry_point.load()
                state.manager.register(plugin, name=name)
            except Exception as error:  # noqa: BLE001
                # One broken plugin must not take the command or the other
                # plugins down; `brnpa plugins` shows the reason.
                source.error = f'{type(error).__name__}: {error}'


def get_plugin_manager() -> pluggy.PluginManager:
    """The plugin manager, with third-party plugins loaded (once)."""
    state = _builtin_state()
    if not state.entry_points_loaded:
        state.entry_points_loaded = True
        if not autoload_disabled():
            _load_entry_points(state)
    return state.manager


def reset_plugins() -> None:
    """Forget all plugins; the next use registers and loads them again.

    Useful after installing a plugin in a running interpreter.
    """
    global _state
    _state = None


def plugin_sources() -> Dict[str, PluginSource]:
    """Name -> source of every plugin, including those that failed to load."""
    get_plugin_manager()
    return dict(_builtin_state().sources)


def _collect(caller: Callable, kind: type) -> Dict[str, Any]:
    items: Dict[str, Any] = {}

    def register(item):
        if not isinstance(item, kind):
            raise TypeError(f'register() takes a {kind.__name__}, got '
                            f'{type(item).__name__}: {item!r}')
        if item.name in items:
            raise ValueError(
                f'Two plugins register a {kind.__name__} named '
                f'{item.name!r}; uninstall or rename one of them.')
        items[item.name] = item

    caller(register=register)
    return items


def _hook_caller(manager: pluggy.PluginManager, hook_name: str,
                 plugins: Optional[Iterable[str]]) -> Callable:
    if plugins is None:
        return getattr(manager.hook, hook_name)
    keep = set(plugins)
    others = [plugin for name, plugin in manager.list_name_plugin()
              if name not in keep]
    return manager.subset_hook_caller(hook_name, others)


def registered(hook_name: str, kind: type,
               plugins: Optional[Iterable[str]] = None) -> Dict[str, Any]:
    """Call a ``brnpa_register_*`` hook and gather what it registers.

    Args:
        hook_name (str): e.g. ``'brnpa_register_adapters'``.
        kind (type): The class every registered item must have.
        plugins (Iterable[str] | None): Only ask these plugins (by name);
            None asks all of them.

    Returns:
        dict: item name -> item, in pluggy's call order: the most recently
        registered plugin first (third-party plugins before the built-in
        ones), each plugin's items in the order it registers them.
    """
    return _collect(_hook_caller(get_plugin_manager(), hook_name, plugins),
                    kind)


def plugin_hooks(name: str) -> List[str]:
    """Names of the hooks a registered plugin implements."""
    manager = get_plugin_manager()
    plugin = manager.get_plugin(name)
    callers = manager.get_hookcallers(plugin) if plugin is not None else None
    return sorted(caller.name for caller in callers or ())


class UnknownNameError(KeyError):
    """A name nothing registered; the message suggests close names."""

    def __str__(self) -> str:
        # KeyError would print the message with quotes around it.
        return str(self.args[0]) if self.args else ''


def lookup(items: Dict[str, Any], name: str, what: str,
           listing: str) -> Any:
    """``items[name]``, or an :class:`UnknownNameError` naming close names.

    Args:
        items (dict): Registered items by name.
        name (str): The name asked for.
        what (str): What the items are, for the message ('saliency method').
        listing (str): How to list all names, for the message.
    """
    if name in items:
        return items[name]
    raise UnknownNameError(unknown_name_message(name, items, what, listing))


def unknown_name_message(name: str, known: Iterable[str], what: str,
                         listing: str) -> str:
    """'Unknown X ...; did you mean ...?' with difflib's closest names."""
    close = difflib.get_close_matches(name, list(known), n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ''
    return f'Unknown {what} {name!r}.{hint} {listing} lists all of them.'


def registered_adapters() -> Dict[str, Adapter]:
    """Name -> :class:`Adapter` from all plugins."""
    return registered('brnpa_register_adapters', Adapter)


def builtin_adapters() -> Dict[str, Adapter]:
    """The built-in adapters, without loading third-party plugins."""
    caller = _hook_caller(_builtin_state().manager, 'brnpa_register_adapters',
                          DEFAULT_PLUGINS)
    return _collect(caller, Adapter)


def activate_imported_ecosystems() -> Tuple[str, ...]:
    """Activate each built-in adapter whose ecosystem is already imported.

    ``import brnpa_plugins`` calls this, so that mmengine's
    ``custom_imports=dict(imports=['brnpa_plugins'])`` registers BR-NPA in
    mmpretrain. The other available built-in adapters activate later, right
    after their ecosystem's main module (the last of ``requires``) is
    imported. Adapters whose ecosystem is not installed are skipped.

    Returns:
        tuple: names of the adapters activated now.
    """
    activated = []
    for adapter in builtin_adapters().values():
        if not adapter.available:
            continue
        if any(name in sys.modules for name in adapter.activated_by):
            adapter.activate()
            activated.append(adapter.name)
        else:
            call_after_import(adapter.requires[-1], adapter.activate)
    return tuple(activated)
