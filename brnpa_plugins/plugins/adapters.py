"""Ecosystem adapters: packages that register BR-NPA into another library.

Importing an adapter imports its ecosystem (mmpretrain, torchreid,
learn2learn), so availability is decided from installed modules without
importing them, and an adapter is only imported when it is activated.
The built-in adapters (:data:`BUILTIN_ADAPTERS`) register through the
``brnpa_register_adapters`` hook of this module, as a third-party plugin's
adapters do through theirs.
"""
import importlib
import importlib.util
import sys
from dataclasses import dataclass
from types import ModuleType
from typing import Dict, Optional, Tuple

from .hookspecs import hookimpl
from .manager import DEFAULT_PLUGINS, registered


class AdapterUnavailableError(ImportError):
    """An adapter was activated while its ecosystem is not installed."""


def module_installed(name: str) -> bool:
    """Whether ``import name`` can find the module, without importing it."""
    if name in sys.modules:
        return sys.modules[name] is not None
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        # find_spec imports the parents of a dotted name; a missing or
        # broken parent means the module cannot be imported either.
        return False


def _as_names(value, field: str, adapter: str) -> Tuple[str, ...]:
    names = (value, ) if isinstance(value, str) else tuple(value)
    if not names or not all(isinstance(n, str) and n for n in names):
        raise ValueError(
            f'Adapter {adapter!r}: {field} must be a module name or a '
            f'non-empty sequence of module names, got {value!r}')
    return names


@dataclass(frozen=True)
class Adapter:
    """An adapter package and the ecosystem it needs.

    Args:
        name (str): Short name shown by ``brnpa plugins`` (e.g. 'openmmlab').
        module (str): The package to import to activate the adapter.
        requires (str | Sequence[str]): Top-level modules of the ecosystem
            the adapter imports (e.g. ('mmengine', 'mmpretrain')).
        install (str): The exact command that installs them.
        description (str): One line on what the adapter registers.
    """
    name: str
    module: str
    requires: Tuple[str, ...]
    install: str
    description: str = ''

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(
                f'Adapter name must be a non-empty string, got {self.name!r}')
        if not isinstance(self.module, str) or not self.module:
            raise ValueError(f'Adapter {self.name!r}: module must be a '
                             f'module name, got {self.module!r}')
        if not isinstance(self.install, str) or not self.install.strip():
            raise ValueError(
                f'Adapter {self.name!r}: install must be the command that '
                f'installs {self.requires!r}, got {self.install!r}')
        object.__setattr__(self, 'requires',
                           _as_names(self.requires, 'requires', self.name))

    def unavailable_reason(self) -> Optional[str]:
        """Why the adapter cannot be activated, or None when it can."""
        missing = [n for n in self.requires if not module_installed(n)]
        if missing:
            verb = 'is' if len(missing) == 1 else 'are'
            return (f"{', '.join(missing)} {verb} not installed; install "
                    f'with: {self.install}')
        if not module_installed(self.module):
            return (f'its module {self.module} cannot be found; reinstall the '
                    'package that provides it')
        return None

    @property
    def available(self) -> bool:
        return self.unavailable_reason() is None

    @property
    def active(self) -> bool:
        """Whether the adapter package has been imported."""
        return self.module in sys.modules

    def activate(self) -> ModuleType:
        """Import the adapter package, which registers BR-NPA in its ecosystem.

        Raises:
            AdapterUnavailableError: the ecosystem or the adapter module is
                missing; the message has the install command.
        """
        reason = self.unavailable_reason()
        if reason is not None:
            raise AdapterUnavailableError(
                f'The {self.name!r} adapter is unavailable: {reason}')
        return importlib.import_module(self.module)


#: learn2learn 0.2.0 has no wheel and its C files do not compile on Python
#: 3.11: the build option regenerates them with Cython.
FEWSHOT_INSTALL = ('pip install "brnpa-plugins[fewshot]" && pip install '
                   '--no-deps learn2learn==0.2.0 '
                   '--config-settings=--build-option=build_ext')

BUILTIN_ADAPTERS = (
    Adapter(name='openmmlab', module='brnpa_plugins.openmmlab',
            requires=('mmengine', 'mmcv', 'mmpretrain'),
            install='pip install "brnpa-plugins[openmmlab]"',
            description="BR-NPA neck and heads in mmpretrain's MODELS "
            'registry, zoo names in mmpretrain.get_model'),
    Adapter(name='reid', module='brnpa_plugins.reid',
            requires=('torchreid', ),
            install='pip install "brnpa-plugins[torchreid]"',
            description='BR-NPA re-ID models in torchreid.models.build_model'),
    Adapter(name='fewshot', module='brnpa_plugins.fewshot',
            requires=('learn2learn', ), install=FEWSHOT_INSTALL,
            description='BR-NPA embeddings and prototypical networks on '
            'learn2learn episodes'),
)


@hookimpl
def brnpa_register_adapters(register):
    for adapter in BUILTIN_ADAPTERS:
        register(adapter)


def registered_adapters() -> Dict[str, Adapter]:
    """Name -> :class:`Adapter` from all plugins."""
    return registered('brnpa_register_adapters', Adapter)


def builtin_adapters() -> Dict[str, Adapter]:
    """The built-in adapters, without loading third-party plugins."""
    return registered('brnpa_register_adapters', Adapter,
                      DEFAULT_PLUGINS['brnpa_register_adapters'],
                      third_party=False)
