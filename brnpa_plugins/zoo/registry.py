"""The model zoo: every entry that plugins register, looked up by name.

This project's own entries (its ``model-index.yml``) register through this
module's ``brnpa_register_zoo_entries`` hook, as a plugin's entries do.
"""
from typing import Dict, Optional

from ..plugins.hookspecs import hookimpl
from ..plugins.manager import UnknownNameError, lookup, registered
from .metafile import ZooEntry, read_model_index


@hookimpl
def brnpa_register_zoo_entries(register):
    for entry in read_model_index():
        register(entry)


def zoo_entries() -> Dict[str, ZooEntry]:
    """Name -> :class:`ZooEntry` from all plugins, this project's first."""
    return registered('brnpa_register_zoo_entries', ZooEntry)


def get_entry(name: str) -> ZooEntry:
    """The entry called ``name``.

    Raises:
        UnknownNameError: no such entry; the message suggests close names.
    """
    return lookup(zoo_entries(), name, 'model-zoo name', '`brnpa zoo list`')


def expected_sha256(url: str) -> Optional[str]:
    """The published SHA-256 of a checkpoint URL, if a zoo entry has it."""
    for entry in zoo_entries().values():
        if entry.weights == url:
            return entry.sha256
    return None


__all__ = ['UnknownNameError', 'expected_sha256', 'get_entry', 'zoo_entries']
