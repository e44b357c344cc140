"""Load a zoo checkpoint by name, URL or path, with ``weights_only=True``."""
import os
import urllib.parse
from pathlib import Path
from typing import Any, Optional, Union

from ..core.io import load_checkpoint_file
from .download import SCHEMES, download_checkpoint
from .metafile import ZooEntry
from .registry import expected_sha256, get_entry, zoo_entries


class NoCheckpointError(LookupError):
    """A zoo entry has no published checkpoint."""


def no_checkpoint_message(entry: ZooEntry) -> str:
    config = f' ({entry.config})' if entry.config else ''
    return (f'{entry.name} has no checkpoint published yet (status: '
            f'{entry.status}). Train it with its config{config}, then '
            'publish the checkpoint with tools/publish_model.py.')


def resolve_checkpoint(name_or_url_or_path: Union[str, os.PathLike],
                       cache_dir: Union[str, os.PathLike, None] = None,
                       progress: Optional[bool] = None) -> Path:
    """The local, verified file of a checkpoint.

    A text that is a zoo name is the zoo entry, even when a file of that
    name is in the working directory (write ``./NAME`` for the file); a
    :class:`os.PathLike` is a path first.

    Args:
        name_or_url_or_path (str | PathLike): A zoo name, an http(s) or file
            URL (downloaded and verified, see :func:`download_checkpoint`),
            or a local path.
        cache_dir (str | PathLike | None): Directory to download into;
            defaults to the cache.
        progress (bool | None): Progress bar on stderr (None: when a TTY).

    Raises:
        NoCheckpointError: the zoo entry has no published checkpoint.
        UnknownNameError: neither a file, a URL nor a zoo name.
    """
    text = os.fspath(name_or_url_or_path)
    if urllib.parse.urlparse(text).scheme in SCHEMES:
        return download_checkpoint(text, expected_sha256(text), cache_dir,
                                   progress=progress)
    if not isinstance(name_or_url_or_path, str) or \
            text not in zoo_entries():
        path = Path(text).expanduser()
        if path.is_file():
            return path
    entry = get_entry(text)
    if entry.weights is None:
        raise NoCheckpointError(no_checkpoint_message(entry))
    return download_checkpoint(entry.weights, entry.sha256, cache_dir,
                               progress=progress)


def load_checkpoint(name_or_url_or_path: Union[str, os.PathLike],
                    map_location: Any = 'cpu',
                    cache_dir: Union[str, os.PathLike, None] = None) -> Any:
    """Resolve a checkpoint (:func:`resolve_checkpoint`) and load it with
    ``torch.load(weights_only=True)``.

    Args:
        name_or_url_or_path (str | PathLike): Zoo name, URL or local path.
        map_location: As in :func:`torch.load`. Defaults to 'cpu'.
        cache_dir (str | PathLike | None): Download directory.
    """
    path = resolve_checkpoint(name_or_url_or_path, cache_dir)
    return load_checkpoint_file(path, map_location)
