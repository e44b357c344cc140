"""Backbones whose resolution BR-NPA can raise by stride surgery.

Plugins register a :class:`HighResolutionBackbone` for each family of models
they know how to convert; :func:`to_high_resolution` picks the first one that
recognises a model.
"""
from dataclasses import dataclass
from typing import Callable

from torch import nn

from .manager import registered


@dataclass(frozen=True)
class HighResolutionBackbone:
    """A family of backbones and its stride surgery.

    Args:
        name (str): Short name, e.g. 'resnet'.
        matches (Callable[[nn.Module], bool]): Whether a model belongs to the
            family.
        convert (Callable[[nn.Module], nn.Module]): Makes a model of the
            family high-resolution in place and returns it.
        description (str): One line shown by ``brnpa plugins``.
    """
    name: str
    matches: Callable[[nn.Module], bool]
    convert: Callable[[nn.Module], nn.Module]
    description: str = ''

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ValueError('HighResolutionBackbone name must be a non-empty '
                             f'string, got {self.name!r}')
        for field in ('matches', 'convert'):
            if not callable(getattr(self, field)):
                raise TypeError(f'HighResolutionBackbone {self.name!r}: '
                                f'{field} must be callable, got '
                                f'{getattr(self, field)!r}')


def high_resolution_backbones() -> dict:
    """Name -> :class:`HighResolutionBackbone` from all plugins."""
    return registered('brnpa_register_backbones', HighResolutionBackbone)


def to_high_resolution(model: nn.Module) -> nn.Module:
    """Make ``model`` high-resolution with the first backbone that matches it.

    Third-party plugins are asked before the built-in ones, so a plugin can
    take over a family the built-in ``resnet`` surgery also matches.

    Raises:
        ValueError: no registered backbone recognises the model.
    """
    backbones = high_resolution_backbones()
    for backbone in backbones.values():
        if backbone.matches(model):
            return backbone.convert(model)
    raise ValueError(
        f'No registered backbone recognises {type(model).__name__}; known '
        f'families: {sorted(backbones)}. Register one with the '
        '`brnpa_register_backbones` hook (see docs/plugins.md).')
