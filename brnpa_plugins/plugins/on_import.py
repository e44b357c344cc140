"""Activate adapters when their ecosystem is imported after brnpa_plugins.

``import brnpa_plugins`` activates the adapters whose ecosystem is already
imported. When the ecosystem comes later (``import brnpa_plugins`` for the
core, then an mmengine Runner whose config names
``custom_imports=['brnpa_plugins']``, which finds the module already
imported), a finder on ``sys.meta_path`` activates the adapter right after
the ecosystem's top-level module has finished executing.
"""
import importlib.abc
import sys
from typing import Callable, Dict, List


class _ActivatingLoader(importlib.abc.Loader):
    """Runs the real loader, then the callbacks waiting for this module."""

    def __init__(self, loader, callbacks: List[Callable[[], None]]):
        self._loader = loader
        self._callbacks = callbacks

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        for callback in self._callbacks:
            callback()

    def __getattr__(self, name):  # resources, source, ... of the real loader
        return getattr(self._loader, name)


class _ImportWatcher(importlib.abc.MetaPathFinder):

    def __init__(self):
        self.waiting: Dict[str, List[Callable[[], None]]] = {}

    def find_spec(self, fullname, path=None, target=None):
        callbacks = self.waiting.pop(fullname, None)
        if callbacks is None:
            return None
        for finder in sys.meta_path:
            find = getattr(finder, 'find_spec', None)
            if finder is self or find is None:
                continue
            spec = find(fullname, path, target)
            if spec is not None and spec.loader is not None:
                spec.loader = _ActivatingLoader(spec.loader, callbacks)
                return spec
        return None


_WATCHER = _ImportWatcher()


def call_after_import(module: str, callback: Callable[[], None]) -> None:
    """Call ``callback()`` once ``module`` (top-level) has been imported.

    If it is imported already, the callback runs now.
    """
    if module in sys.modules:
        callback()
        return
    if _WATCHER not in sys.meta_path:
        sys.meta_path.insert(0, _WATCHER)
    _WATCHER.waiting.setdefault(module, []).append(callback)
