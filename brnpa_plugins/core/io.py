"""Files that are never half-written, and checkpoints that load safely.

Every writer in the project goes through :func:`atomic_path`: the data goes
to a temporary file in the target's folder, which replaces the target only
once it is complete, so an interrupted run leaves either the old file or the
new one, never a truncated one.
"""
import contextlib
import json
import os
import uuid
from typing import IO, Any, Callable, Iterator, Union

import numpy as np
import torch

PathLike = Union[str, os.PathLike]


@contextlib.contextmanager
def atomic_path(path: PathLike) -> Iterator[str]:
    """Yield a temporary path that replaces ``path`` when the block succeeds.

    The temporary file lies next to ``path`` (same file system, so the rename
    is atomic) and is removed if the block raises. Parent folders are
    created. The file gets the usual permissions (0666 minus the umask).
    """
    path = os.path.abspath(os.fspath(path))
    folder, name = os.path.split(path)
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, f'.{name}.{uuid.uuid4().hex[:8]}.tmp')
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def atomic_write(path: PathLike, write: Callable[[IO], Any],
                 mode: str = 'wb') -> str:
    """Call ``write(stream)`` on a temporary file, then move it to ``path``.

    Returns:
        str: ``path``.
    """
    with atomic_path(path) as tmp:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
        with os.fdopen(os.open(tmp, flags, 0o666), mode) as stream:
            write(stream)
    return os.fspath(path)


def atomic_write_text(path: PathLike, text: str) -> str:
    """Write ``text`` (UTF-8) to ``path`` through :func:`atomic_write`."""
    return atomic_write(path, lambda stream: stream.write(text.encode(
        'utf-8')))


def atomic_write_json(path: PathLike, payload: Any, **options: Any) -> str:
    """Write ``payload`` as indented JSON through :func:`atomic_write`.

    Args:
        options: more keyword arguments of :func:`json.dumps`.
    """
    return atomic_write_text(path, json.dumps(payload, indent=2, **options))


def atomic_save(obj: Any, path: PathLike) -> str:
    """``torch.save(obj, path)`` through :func:`atomic_write`."""
    return atomic_write(path, lambda stream: torch.save(obj, stream))


def numpy_safe_globals() -> list:
    """What ``torch.load(weights_only=True)`` needs for numpy scalars/arrays.

    Their reconstruction functions (under the numpy 1 and 2 module names),
    ``ndarray``, ``dtype`` and the dtype classes: these rebuild numbers and
    arrays from raw bytes and run no other code.
    """
    multiarray = getattr(np, '_core', None) or np.core
    scalar = multiarray.multiarray.scalar
    reconstruct = multiarray.multiarray._reconstruct
    dtype_classes = {type(np.dtype(code)) for code in '?bhilqBHILQefdgFDG'}
    return [
        scalar, reconstruct, (scalar, 'numpy.core.multiarray.scalar'),
        (scalar, 'numpy._core.multiarray.scalar'),
        (reconstruct, 'numpy.core.multiarray._reconstruct'),
        (reconstruct, 'numpy._core.multiarray._reconstruct'), np.ndarray,
        np.dtype
    ] + sorted(dtype_classes, key=lambda c: c.__name__)


def allow_numpy_in_checkpoints() -> None:
    """Allow-list :func:`numpy_safe_globals` for every ``torch.load``.

    Permanent and idempotent; unlike ``torch.serialization.safe_globals``
    (a context manager that removes its globals on exit), it never takes
    away what another part of the program allowed.
    """
    torch.serialization.add_safe_globals(numpy_safe_globals())
