"""Files that are never half-written, and checkpoints that load safely.

Every writer in the project goes through :func:`atomic_path`: the data goes
to a temporary file in the target's folder, which replaces the target only
once it is complete, so an interrupted run leaves either the old file or the
new one, never a truncated one. Every checkpoint the project reads goes
through :func:`load_checkpoint_file`: ``weights_only=True``, and an error
that names the file and the fix.
"""
import contextlib
import json
import os
import pickle
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


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be loaded safely; says which and what to do."""


def load_checkpoint_file(path: PathLike, map_location: Any = 'cpu',
                         what: str = 'checkpoint',
                         refused_fix: str = '') -> Any:
    """``torch.load(path, weights_only=True)``, with errors a user can act on.

    Args:
        path: the checkpoint file.
        map_location: as in :func:`torch.load`.
        what: what the file is, for the messages (``'teacher checkpoint'``,
            ``'model.teacher.checkpoint'``...).
        refused_fix: what to do with a file whose pickle holds objects that
            ``weights_only=True`` refuses (e.g. the conversion command of an
            older format); by default, the advice to re-save it from a
            trusted source.

    Raises:
        FileNotFoundError: ``path`` is not a file (the message names it).
        CheckpointError: the file is empty, truncated, not a checkpoint, or
            holds refused objects (the message names the file, its size, the
            reason and the fix).
    """
    path = os.path.abspath(os.path.expanduser(os.fspath(path)))
    if not os.path.isfile(path):
        raise FileNotFoundError(f'{what} {path} does not exist')
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        reason = next((line for line in str(error).splitlines()
                       if 'Unsupported global' in line or 'GLOBAL' in line),
                      None)
        if reason is None:  # not a refused object: a broken pickle
            raise _unreadable(path, what, error) from None
        raise CheckpointError(
            f'{what} {path} holds objects that torch.load(weights_only=True) '
            f'refuses ({reason.strip()}). ' + (
                refused_fix or 'Only a file you trust should be re-saved with '
                'plain tensors and numbers; do not load it otherwise.')
        ) from None
    except (EOFError, KeyError, RuntimeError, ValueError, OSError) as error:
        # what torch's readers raise on an empty, cut or foreign file
        raise _unreadable(path, what, error) from None


def _unreadable(path: str, what: str, error: BaseException) -> CheckpointError:
    detail = str(error).split('. ')[0][:120] or 'no detail'
    return CheckpointError(
        f'{what} {path} is not a complete PyTorch checkpoint '
        f'({os.path.getsize(path)} bytes; {type(error).__name__}: {detail}): '
        'it is empty, truncated or another kind of file. Write it again, or '
        'delete it so that it is downloaded again.')


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
