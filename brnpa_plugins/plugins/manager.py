"""The plugin manager: built-in plugins, entry-point plugins, registrations.

Built-in plugins (``DEFAULT_PLUGINS``) are the modules of each domain that
implement its hooks (the backbone families in ``backbones/``, the saliency
methods in ``evaluation/methods/``, the zoo entries in ``zoo/``, the adapter
records in :mod:`.adapters`). A built-in module is imported and registered
the first time one of its hooks is called, so converting a backbone imports
no evaluation or zoo code. Third-party plugins, declared in the
``brnpa_plugins`` entry-point group, are loaded once, on the first call of a
hook, unless ``BRNPA_PLUGINS_DISABLE_AUTOLOAD=1``. What a hook registers is
gathered once per process (:func:`registered`) and gathered again when the
set of plugins changes or after :func:`reset_plugins`.

One broken plugin never takes the others down: a plugin that fails to
import (or exits while importing) or implements a hook name that does not
exist is not registered; a hook that raises, or registers a name another
plugin already registered, or something of the wrong type, loses that
contribution only. Each problem is reported once as a
:class:`PluginWarning` naming the plugin and its distribution, and listed by
``brnpa plugins`` (:func:`plugin_problems`).
"""
import importlib
import importlib.metadata
import os
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Set, Tuple

import pluggy

from ..core.checks import close_names
from . import hookspecs

#: Entry-point group third-party plugins declare (in pyproject.toml:
#: ``[project.entry-points.brnpa_plugins] name = "package.module"``).
ENTRY_POINT_GROUP = hookspecs.PROJECT_NAME
#: Set to 1 to skip loading third-party plugins.
DISABLE_AUTOLOAD_ENV = 'BRNPA_PLUGINS_DISABLE_AUTOLOAD'

#: Hook -> the built-in modules that implement it, in the order they are
#: asked (before any third-party plugin, so none can replace a built-in name).
DEFAULT_PLUGINS: Dict[str, Tuple[str, ...]] = {
    'brnpa_register_adapters': ('brnpa_plugins.plugins.adapters', ),
    'brnpa_register_backbones': (
        'brnpa_plugins.backbones.resnet',
        'brnpa_plugins.backbones.pooling',
        'brnpa_plugins.backbones.convnext',
        'brnpa_plugins.backbones.vit',
        'brnpa_plugins.backbones.swin',
    ),
    'brnpa_register_zoo_entries': ('brnpa_plugins.zoo.registry', ),
    'brnpa_register_saliency_methods': ('brnpa_plugins.evaluation.methods', ),
}


def builtin_plugin_names() -> List[str]:
    """The built-in plugin modules, each once, in :data:`DEFAULT_PLUGINS`
    order."""
    return list(dict.fromkeys(name for modules in DEFAULT_PLUGINS.values()
                              for name in modules))


class PluginWarning(UserWarning):
    """A plugin failed in part; the rest of the plugins are unaffected."""


@dataclass
class PluginSource:
    """Where a plugin comes from: this package or a distribution."""
    distribution: str
    version: str
    error: Optional[str] = None  # why it was not registered at all
    # what it lost at run time: a hook that raised, a duplicate name...
    problems: List[str] = field(default_factory=list)
    _reported: Set[str] = field(default_factory=set, init=False, repr=False)

    def report(self, name: str, problem: str,
               once_per: Optional[str] = None) -> None:
        """Record ``problem`` of plugin ``name`` and warn, once.

        Args:
            name (str): The plugin.
            problem (str): What went wrong, for people.
            once_per (str | None): What makes two reports the same problem;
                None: the same text.
        """
        key = problem if once_per is None else once_per
        if key not in self._reported:
            self._reported.add(key)
            self.problems.append(problem)
            warnings.warn(f'plugin {name!r} ({self.distribution} '
                          f'{self.version}): {problem}', PluginWarning,
                          stacklevel=3)


@dataclass
class _State:
    manager: pluggy.PluginManager
    sources: Dict[str, PluginSource] = field(default_factory=dict)
    entry_points_loaded: bool = False
    # (hook, kind, plugins) -> (the hook's implementations when gathered,
    # what they registered, who registered it)
    gathered: Dict[tuple, tuple] = field(default_factory=dict)


_state: Optional[_State] = None


def _new_state() -> _State:
    global _state
    if _state is None:
        manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        manager.add_hookspecs(hookspecs)
        _state = _State(manager)
    return _state


def _register_builtins(state: _State, hooks: Iterable[str]) -> None:
    """Import and register the built-in modules of ``hooks`` not yet in."""
    from ..version import __version__
    for hook in hooks:
        for name in DEFAULT_PLUGINS.get(hook, ()):
            if name not in state.sources:
                state.manager.register(importlib.import_module(name),
                                       name=name)
                state.sources[name] = PluginSource('brnpa-plugins',
                                                   __version__)


def _builtin_state(hooks: Iterable[str] = ()) -> _State:
    """The state with the built-in plugins of ``hooks`` registered."""
    state = _new_state()
    _register_builtins(state, hooks)
    return state


def _state_for(hooks: Iterable[str]) -> _State:
    """The state with the built-in plugins of ``hooks`` and the
    third-party plugins (once) registered."""
    state = _builtin_state(hooks)
    if not state.entry_points_loaded:
        state.entry_points_loaded = True
        if not autoload_disabled():
            _load_entry_points(state)
    return state


def autoload_disabled() -> bool:
    """Whether ``BRNPA_PLUGINS_DISABLE_AUTOLOAD`` turns off entry points."""
    value = os.environ.get(DISABLE_AUTOLOAD_ENV, '').strip().lower()
    return value not in ('', '0', 'false', 'no')


def _describe(error: BaseException) -> str:
    return f'{type(error).__name__}: {error}'


def unknown_hooks(plugin: Any) -> List[str]:
    """Names of ``plugin``'s hook implementations that no hook specifies,
    each with the closest hook name when there is one."""
    known = [name for name in dir(hookspecs) if name.startswith('brnpa_')]
    found = []
    for attribute in dir(plugin):
        if not attribute.startswith('brnpa_') or attribute in known:
            continue
        if not hasattr(getattr(plugin, attribute, None),
                       f'{hookspecs.PROJECT_NAME}_impl'):
            continue
        close = close_names(attribute, known)
        found.append(attribute + (f" (did you mean '{close[0]}'?)"
                                  if close else ''))
    return found


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
            except (Exception, SystemExit) as error:  # noqa: BLE001
                # One broken plugin must not take the command or the other
                # plugins down; `brnpa plugins` shows the reason.
                source.error = f'failed to import: {_describe(error)}'
                source.report(name, f'{source.error}; skipped')
                continue
            unknown = unknown_hooks(plugin)
            if unknown:
                source.error = ('implements unknown hooks: ' +
                                ', '.join(unknown))
                source.report(name, f'{source.error}; skipped')
                continue
            try:
                state.manager.register(plugin, name=name)
            except Exception as error:  # noqa: BLE001
                source.error = f'failed to register: {_describe(error)}'
                source.report(name, f'{source.error}; skipped')


def get_plugin_manager() -> pluggy.PluginManager:
    """The plugin manager, with every built-in plugin and the third-party
    plugins (loaded once) registered."""
    return _state_for(DEFAULT_PLUGINS).manager


def reset_plugins() -> None:
    """Forget all plugins; the next use registers and loads them again.

    Useful after installing a plugin in a running interpreter.
    """
    global _state
    _state = None


def plugin_sources() -> Dict[str, PluginSource]:
    """Name -> source of every plugin, including those that failed to load."""
    return dict(_state_for(DEFAULT_PLUGINS).sources)


#: Seconds a hook call may take before it is reported as slow: every
#: command that asks the hook waits for it (`brnpa plugins` asks them all).
SLOW_HOOK_SECONDS = 3.0


def _report_if_slow(source: PluginSource, plugin: str, hook_name: str,
                    seconds: float) -> None:
    if seconds > SLOW_HOOK_SECONDS:
        source.report(plugin, (
            f'{hook_name} took {seconds:.1f} s (more than '
            f'{SLOW_HOOK_SECONDS:g} s): every command that asks this hook '
            'waits for it; do the slow work when an item is used (in its '
            'functions), not in the hook'), once_per=f'slow {hook_name}')


def _in_asking_order(implementations: list, hook_name: str) -> list:
    """The built-in implementations first, in :data:`DEFAULT_PLUGINS`
    order, then the others in the order they were registered."""
    builtin = {name: rank for rank, name in
               enumerate(DEFAULT_PLUGINS.get(hook_name, ()))}
    return sorted(implementations,
                  key=lambda i: builtin.get(i.plugin_name, len(builtin)))


def _collect(state: _State, hook_name: str, kind: type,
             plugins: Optional[Iterable[str]] = None
             ) -> Tuple[Dict[str, Any], Dict[str, str]]:
    """Call every implementation of a hook, one plugin at a time.

    A plugin whose hook raises, or registers a name already taken or an
    item of another type, loses that contribution (reported); the other
    plugins' items are kept. A hook call slower than
    :data:`SLOW_HOOK_SECONDS` is reported, and its items kept.

    Returns:
        (item name -> item, item name -> name of the plugin that owns it).
    """
    items: Dict[str, Any] = {}
    owners: Dict[str, str] = {}
    keep = None if plugins is None else set(plugins)
    implementations = _in_asking_order(
        getattr(state.manager.hook, hook_name).get_hookimpls(), hook_name)
    for implementation in implementations:
        plugin = implementation.plugin_name
        if keep is not None and plugin not in keep:
            continue
        # a plugin registered with the manager by code, not an entry point
        source = state.sources.setdefault(plugin,
                                          PluginSource('(in code)', '-'))

        def register(item, plugin=plugin, source=source):
            if not isinstance(item, kind):
                source.report(plugin, (
                    f'{hook_name}: register() takes a {kind.__name__}, got '
                    f'{type(item).__name__}: {item!r}; skipped'))
            elif item.name in items:
                source.report(plugin, (
                    f'{hook_name}: a {kind.__name__} named {item.name!r} '
                    f'is already registered by {owners[item.name]!r}; '
                    'skipped (uninstall or rename one of them)'))
            else:
                items[item.name] = item
                owners[item.name] = plugin

        started = time.perf_counter()
        try:
            implementation.function(register=register)
        except (Exception, SystemExit) as error:  # noqa: BLE001
            source.report(plugin, f'{hook_name} raised {_describe(error)}; '
                          'what it registered before is kept')
        _report_if_slow(source, plugin, hook_name,
                        time.perf_counter() - started)
    return items, owners


def _gathered(hook_name: str, kind: type,
              plugins: Optional[Iterable[str]] = None,
              third_party: bool = True
              ) -> Tuple[Dict[str, Any], Dict[str, str]]:
    """:func:`_collect`, once per set of implementations of the hook."""
    state = (_state_for if third_party else _builtin_state)((hook_name, ))
    chosen = None if plugins is None else tuple(plugins)
    implementations = tuple(
        i.plugin_name for i in
        getattr(state.manager.hook, hook_name).get_hookimpls())
    key = (hook_name, kind, chosen, third_party)
    cached = state.gathered.get(key)
    if cached is None or cached[0] != implementations:
        cached = (implementations, *_collect(state, hook_name, kind, chosen))
        state.gathered[key] = cached
    return dict(cached[1]), dict(cached[2])


def registered(hook_name: str, kind: type,
               plugins: Optional[Iterable[str]] = None,
               third_party: bool = True) -> Dict[str, Any]:
    """Call a ``brnpa_register_*`` hook and gather what it registers.

    The hook is called once per process; again only when plugins were
    registered or unregistered since, or after :func:`reset_plugins`.

    Args:
        hook_name (str): e.g. ``'brnpa_register_adapters'``.
        kind (type): The class every registered item must have.
        plugins (Iterable[str] | None): Only ask these plugins (by name);
            None asks all of them.
        third_party (bool): Whether to load the third-party plugins; False
            asks the built-in ones only.

    Returns:
        dict: item name -> item, the built-in plugins' first (so a
        third-party plugin cannot replace a built-in name), then the others
        in the order they were registered; each plugin's items in the order
        it registers them.
    """
    return _gathered(hook_name, kind, plugins, third_party)[0]


def registered_by_plugin(hook_name: str, kind: type) -> Dict[str, List[Any]]:
    """Plugin name -> the items of :func:`registered` it contributed."""
    items, owners = _gathered(hook_name, kind)
    by_plugin: Dict[str, List[Any]] = {}
    for name, item in items.items():
        by_plugin.setdefault(owners[name], []).append(item)
    return by_plugin


def plugin_problems() -> Dict[str, List[str]]:
    """Plugin name -> what it failed to do, for plugins that failed."""
    return {name: ([source.error] if source.error else []) +
            [p for p in source.problems if source.error is None]
            for name, source in plugin_sources().items()
            if source.error or source.problems}


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
    close = close_names(name, known, n=3)
    hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ''
    return f'Unknown {what} {name!r}.{hint} {listing} lists all of them.'
