"""The plugin machinery: hook specifications, the manager, adapter records.

What plugins register lives with its domain: backbone families in
:mod:`brnpa_plugins.backbones`, saliency methods in
:mod:`brnpa_plugins.evaluation.methods`, zoo entries in
:mod:`brnpa_plugins.zoo`. A third-party plugin is a module that implements
hooks of :mod:`~brnpa_plugins.plugins.hookspecs` and is declared in the
``brnpa_plugins`` entry-point group (see docs/plugins.md).
"""
import importlib
import warnings

from .adapters import (Adapter, AdapterUnavailableError, builtin_adapters,
                       registered_adapters)
from .hookspecs import hookimpl, hookspec
from .manager import (DEFAULT_PLUGINS, DISABLE_AUTOLOAD_ENV, ENTRY_POINT_GROUP,
                      PluginWarning, UnknownNameError, builtin_plugin_names,
                      get_plugin_manager, plugin_hooks, plugin_problems,
                      plugin_sources, registered, registered_by_plugin,
                      reset_plugins)

#: Names this package exported before they moved to their domain's package:
#: old name -> (module, new name). They still work, with a warning.
MOVED = {
    'HighResolutionBackbone': ('brnpa_plugins.backbones', 'BackboneFamily'),
    'FeatureLayer': ('brnpa_plugins.backbones', 'FeatureLayer'),
    'feature_layer': ('brnpa_plugins.backbones', 'feature_layer'),
    'high_resolution_backbones': ('brnpa_plugins.backbones',
                                  'backbone_families'),
    'remove_final_norm': ('brnpa_plugins.backbones', 'remove_final_norm'),
    'to_high_resolution': ('brnpa_plugins.backbones', 'to_high_resolution'),
    'SaliencyMethod': ('brnpa_plugins.evaluation.methods', 'SaliencyMethod'),
    'get_saliency_method': ('brnpa_plugins.evaluation.methods',
                            'get_saliency_method'),
    'saliency_methods': ('brnpa_plugins.evaluation.methods',
                         'saliency_methods'),
}


def __getattr__(name: str):
    if name in MOVED:
        module, new_name = MOVED[name]
        warnings.warn(
            f'brnpa_plugins.plugins.{name} moved to {module}.{new_name}; the '
            'old name will be removed in a later release.',
            DeprecationWarning, stacklevel=2)
        return getattr(importlib.import_module(module), new_name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


__all__ = [
    'Adapter', 'AdapterUnavailableError', 'DEFAULT_PLUGINS',
    'DISABLE_AUTOLOAD_ENV', 'ENTRY_POINT_GROUP', 'PluginWarning',
    'UnknownNameError', 'builtin_adapters', 'builtin_plugin_names',
    'get_plugin_manager', 'hookimpl', 'hookspec', 'plugin_hooks',
    'plugin_problems', 'plugin_sources', 'registered', 'registered_adapters',
    'registered_by_plugin', 'reset_plugins'
]
