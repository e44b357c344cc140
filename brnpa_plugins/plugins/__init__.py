"""Plugins: ecosystem adapters, high-resolution backbones, zoo entries and
saliency methods, gathered with pluggy.

A third-party plugin is a module that implements hooks of
:mod:`~brnpa_plugins.plugins.hookspecs` and is declared in the
``brnpa_plugins`` entry-point group (see docs/plugins.md).
"""
from .adapters import Adapter, AdapterUnavailableError
from .backbones import (FeatureLayer, HighResolutionBackbone, feature_layer,
                        high_resolution_backbones, remove_final_norm,
                        to_high_resolution)
from .hookspecs import hookimpl, hookspec
from .manager import (DEFAULT_PLUGINS, DISABLE_AUTOLOAD_ENV, ENTRY_POINT_GROUP,
                      PluginWarning, UnknownNameError,
                      builtin_adapters,
                      get_plugin_manager, plugin_hooks, plugin_problems,
                      plugin_sources, registered, registered_adapters,
                      registered_by_plugin, reset_plugins)
from .saliency import SaliencyMethod, get_saliency_method, saliency_methods

__all__ = [
    'Adapter', 'AdapterUnavailableError', 'DEFAULT_PLUGINS',
    'DISABLE_AUTOLOAD_ENV', 'ENTRY_POINT_GROUP', 'FeatureLayer',
    'HighResolutionBackbone',
    'PluginWarning',
    'SaliencyMethod', 'UnknownNameError',
    'builtin_adapters', 'feature_layer', 'get_plugin_manager', 'get_saliency_method',
    'high_resolution_backbones', 'hookimpl', 'hookspec', 'plugin_hooks',
    'plugin_problems',
    'plugin_sources', 'registered', 'registered_adapters',
    'registered_by_plugin', 'remove_final_norm', 'reset_plugins',
    'saliency_methods', 'to_high_resolution'
]
