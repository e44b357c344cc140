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
import re
import socket
import uuid
from typing import IO, Any, Callable, Iterator, Sequence, Union

import numpy as np
import torch

PathLike = Union[str, os.PathLike]


_TEMP = re.compile(r'^\..+\.(?P<host>\w+)-(?P<pid>\d+)-[0-9a-f]{8}\.tmp$')


def _host() -> str:
    return re.sub(r'\W', '_', socket.gethostname()) or 'host'


def _temporary_name(name: str) -> str:
    """``.<name>.<host>-<pid>-<random>.tmp``: whose it is, to clean it up."""
    return f'.{name}.{_host()}-{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp'


def _process_is_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # it exists, under another user
        return False
    return False


def remove_orphan_temporaries(folder: PathLike) -> list:
    """Delete temporary files in ``folder`` left by killed writers.

    A writer killed before its rename (``kill -9``, power loss) leaves its
    temporary file behind. Those of processes of this host that no longer
    run are deleted; files of live processes, and of other hosts sharing the
    folder, are left alone.

    Returns:
        list: the deleted paths.
    """
    host, removed = _host(), []
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            match = _TEMP.match(entry.name)
            if match and match['host'] == host and \
                    _process_is_gone(int(match['pid'])):
                with contextlib.suppress(OSError):
                    os.remove(entry.path)
                    removed.append(entry.path)
    return removed


def _fsync(path: str, directory: bool = False) -> None:
    flags = os.O_RDONLY | (getattr(os, 'O_DIRECTORY', 0) if directory else 0)
    try:
        descriptor = os.open(path, flags)
    except OSError:  # folders cannot be opened on some systems
        if directory:
            return
        raise
    try:
        os.fsync(descriptor)
    except OSError:
        if not directory:
            raise
    finally:
        os.close(descriptor)


@contextlib.contextmanager
def atomic_path(path: PathLike) -> Iterator[str]:
    """Yield a temporary path that replaces ``path`` when the block succeeds.

    The temporary file lies next to ``path`` (same file system, so the rename
    is atomic). Once the block returns, the file is flushed to disk (fsync),
    renamed over ``path``, and the folder is flushed too, so that after a
    crash ``path`` is either the old file or the complete new one. If the
    block raises, the temporary file is removed; temporaries of writers that
    were killed are removed by the next write into the folder. Parent
    folders are created. The file gets the usual permissions (0666 minus the
    umask).
    """
    path = os.path.abspath(os.fspath(path))
    folder, name = os.path.split(path)
    os.makedirs(folder, exist_ok=True)
    remove_orphan_temporaries(folder)
    tmp = os.path.join(folder, _temporary_name(name))
    try:
        yield tmp
        _fsync(tmp)
        os.replace(tmp, path)
        _fsync(folder, directory=True)
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


#: numpy dtype codes whose scalars a checkpoint may hold: booleans, integers,
#: floats and complex numbers (no objects, strings, records or datetimes).
NUMERIC_DTYPES = frozenset(
    ['b1', 'i1', 'i2', 'i4', 'i8', 'u1', 'u2', 'u4', 'u8', 'f2', 'f4', 'f8',
     'c8', 'c16'])
#: Starts the message of a value that a stand-in refuses to build.
REFUSED_VALUE = 'refused value'


class PickledDType:
    """Stands for ``numpy.dtype`` while a checkpoint is read.

    It only records the type code and the pickled state; a real dtype is
    made from a code of :data:`NUMERIC_DTYPES` and a state without fields,
    so a file cannot describe a record or object layout.
    """

    def __init__(self, code, align=False, copy=True):
        self.code, self.state = code, None

    def __setstate__(self, state):
        self.state = state

    def numeric(self) -> np.dtype:
        state = self.state
        plain = (isinstance(state, tuple) and len(state) == 8
                 and state[0] == 3 and state[1] in ('<', '>', '|', '=')
                 and state[2:7] == (None, None, None, -1, -1)
                 and state[7] == 0)
        if self.code not in NUMERIC_DTYPES or not plain:
            raise pickle.UnpicklingError(
                f'{REFUSED_VALUE}: a numpy dtype {self.code!r} with state '
                f'{state!r}; only plain numbers ({sorted(NUMERIC_DTYPES)}) '
                'are read')
        return np.dtype(self.code).newbyteorder(state[1])


def _numpy_scalar(dtype, data):
    """Stands for ``numpy.core.multiarray.scalar``: a Python number."""
    if not isinstance(dtype, PickledDType) or not isinstance(data, bytes):
        raise pickle.UnpicklingError(
            f'{REFUSED_VALUE}: a numpy scalar built from {type(dtype).__name__} '
            f'and {type(data).__name__}')
    numeric = dtype.numeric()
    if len(data) != numeric.itemsize:
        raise pickle.UnpicklingError(
            f'{REFUSED_VALUE}: {len(data)} bytes for a {numeric} scalar')
    return np.frombuffer(data, dtype=numeric)[0].item()


#: What ``load_checkpoint_file`` reads in place of numpy scalars, under the
#: names numpy 1 and 2 pickle them with.
NUMPY_SCALAR_READERS = (
    (_numpy_scalar, 'numpy.core.multiarray.scalar'),
    (_numpy_scalar, 'numpy._core.multiarray.scalar'),
    (PickledDType, 'numpy.dtype'),
)


def _refuse_bare_dtypes(value: Any) -> None:
    """A dtype is read only to build a scalar: one left over is refused."""
    pending, seen = [value], set()
    while pending:
        item = pending.pop()
        if isinstance(item, PickledDType):
            raise pickle.UnpicklingError(
                f'{REFUSED_VALUE}: a numpy dtype {item.code!r} outside a scalar')
        if isinstance(item, (dict, list, tuple, set, frozenset)) and \
                id(item) not in seen:
            seen.add(id(item))
            pending.extend(item.values() if isinstance(item, dict) else item)


def load_checkpoint_file(path: PathLike, map_location: Any = 'cpu',
                         what: str = 'checkpoint',
                         refused_fix: str = '',
                         extra_globals: Sequence = ()) -> Any:
    """``torch.load(path, weights_only=True)``, with errors a user can act on.

    Numpy scalars of numeric types (as torchreid and older tools store
    metrics) are read as Python numbers: the file's dtype description is
    checked against :data:`NUMERIC_DTYPES` first, and numpy itself never
    sees it. Anything else from numpy (arrays, dtypes with fields, objects)
    is refused like every global that ``weights_only=True`` refuses.

    Args:
        path: the checkpoint file.
        map_location: as in :func:`torch.load`.
        what: what the file is, for the messages (``'teacher checkpoint'``,
            ``'model.teacher.checkpoint'``...).
        refused_fix: what to do with a file whose pickle holds objects that
            ``weights_only=True`` refuses (e.g. the conversion command of an
            older format); by default, the advice to re-save it from a
            trusted source.
        extra_globals: more entries for
            :class:`torch.serialization.safe_globals`, allowed for this load
            only.

    Raises:
        FileNotFoundError: ``path`` is not a file (the message names it).
        CheckpointError: the file is empty, truncated, not a checkpoint, or
            holds refused objects (the message names the file, its size, the
            reason and the fix).
    """
    path = os.path.abspath(os.path.expanduser(os.fspath(path)))
    if not os.path.isfile(path):
        raise FileNotFoundError(f'{what} {path} does not exist')
    readers = list(NUMPY_SCALAR_READERS) + list(extra_globals)
    try:
        with torch.serialization.safe_globals(readers):
            checkpoint = torch.load(path, map_location=map_location,
                                    weights_only=True)
        _refuse_bare_dtypes(checkpoint)
        return checkpoint
    except pickle.UnpicklingError as error:
        reason = next((line for line in str(error).splitlines()
                       if 'Unsupported global' in line or 'GLOBAL' in line
                       or REFUSED_VALUE in line), None)
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


def plain_types(value: Any) -> Any:
    """``value`` with numpy scalars and arrays, at any depth of dicts, lists
    and tuples, replaced by Python numbers and lists, so that a checkpoint
    holding it loads with a plain ``torch.load`` (``weights_only=True``)."""
    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist()
    if isinstance(value, dict):
        return type(value)(
            (key, plain_types(item)) for key, item in value.items())
    if isinstance(value, (list, tuple)) and not hasattr(value, '_fields'):
        return type(value)(plain_types(item) for item in value)
    return value
