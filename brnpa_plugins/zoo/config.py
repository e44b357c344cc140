"""A zoo entry's config as one standalone file (``brnpa zoo download
--config``, as ``mim download --config``)."""
import os
from pathlib import Path
from typing import Union

from ..core import atomic_write_text
from .download import inside
from .metafile import MetafileError, ZooEntry


def write_entry_config(entry: ZooEntry,
                       folder: Union[str, os.PathLike]) -> Path:
    """Write the resolved config of ``entry`` to ``folder/<name><ext>``.

    The config is read with mmengine's ``Config.fromfile`` (bases merged,
    ``{{ fileDirname }}`` and the like substituted) and dumped as one file
    that needs none of the project's ``configs/_base_``.

    Args:
        entry (ZooEntry): The zoo entry.
        folder (str | PathLike): Where to write it, e.g. the folder of the
            downloaded checkpoint.

    Returns:
        Path: The written file.

    Raises:
        MetafileError: the entry has no ``Config``.
        FileNotFoundError: its config file is missing.
        UnsafeNameError: the written file would lie outside ``folder``.
    """
    from mmengine.config import Config
    if not entry.config:
        raise MetafileError(
            f'{entry.source}: model {entry.name!r} has no Config; add '
            'Config: <path> to its metafile entry, or drop --config.')
    if not os.path.isfile(entry.config):
        raise FileNotFoundError(
            f'{entry.source}: the Config of {entry.name!r}, {entry.config}, '
            'does not exist; fix the path or reinstall brnpa-plugins.')
    target = inside(folder, entry.name + Path(entry.config).suffix)
    atomic_write_text(target, Config.fromfile(entry.config).dump())
    return target
