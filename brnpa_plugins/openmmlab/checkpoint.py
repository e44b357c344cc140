"""Runner checkpoints that load with a plain ``torch.load`` and survive kills.

mmengine 0.10.7 calls ``torch.load`` without ``weights_only``; since torch
2.6 that means ``weights_only=True``, and its own runner checkpoints fail to
load (``--resume``, ``tools/test.py CKPT``): their message hub pickles
``HistoryBuffer`` objects, whose pickle form references numpy arrays and
bound methods. It also writes checkpoints in place, so a process killed
while saving leaves a truncated file.

The patches of :mod:`.compat` route mmengine through the functions here:

- :func:`save_checkpoint` stores each ``HistoryBuffer`` as a dict of plain
  lists (:func:`to_plain_checkpoint`), so the file loads with a plain
  ``torch.load(path)`` anywhere, and writes local files atomically;
- :func:`load_local_checkpoint` loads with ``weights_only=True`` and turns
  those dicts back into ``HistoryBuffer`` objects for ``--resume``;
- :func:`save_checkpoint_with_step` replaces ``CheckpointHook``'s own: the
  checkpoint that ``max_keep_ckpts`` drops is deleted only once the new one
  and ``last_checkpoint`` are in place.

A checkpoint that mmengine wrote without this plugin is converted once with
:func:`upgrade_checkpoint` (``tools/upgrade_checkpoint.py``).
``weights_only`` is never turned off for files mmengine loads.
"""
import os
import os.path as osp
import pickle
from typing import Any, Dict, List, Sequence, Tuple

import numpy as np
import torch

from ..core.io import (NUMPY_SCALAR_READERS, REFUSED_VALUE, CheckpointError,
                       PickledDType, atomic_path, atomic_save, atomic_write_text,
                       load_checkpoint_file, plain_types)

#: The keys of a ``HistoryBuffer`` stored as plain values.
HISTORY_KEYS = ('log_history', 'count_history', 'max_length')

#: What the patched save path does; set by the patches of :mod:`.compat`.
SAVE_OPTIONS = {'plain': False, 'atomic': False}


class LegacyCheckpointError(CheckpointError):
    """A runner checkpoint in the form mmengine writes without the plugin."""


# --- plain message hub ------------------------------------------------------

def _history_to_plain(buffer) -> Dict[str, Any]:
    log, count = buffer.data
    return {'log_history': np.asarray(log).tolist(),
            'count_history': np.asarray(count).tolist(),
            'max_length': int(buffer.max_length)}


def to_plain_checkpoint(checkpoint: Dict[str, Any]) -> Dict[str, Any]:
    """A runner checkpoint with plain values only.

    Each ``HistoryBuffer`` of ``message_hub['log_scalars']`` becomes a dict
    of :data:`HISTORY_KEYS`; numpy numbers anywhere become Python numbers.
    mmengine without this plugin skips such log scalars with a warning when
    it resumes, and resumes everything else.
    """
    from mmengine.logging import HistoryBuffer
    hub = checkpoint.get('message_hub')
    if isinstance(hub, dict) and isinstance(hub.get('log_scalars'), dict):
        scalars = {key: _history_to_plain(value)
                   if isinstance(value, HistoryBuffer) else value
                   for key, value in hub['log_scalars'].items()}
        checkpoint = dict(checkpoint,
                          message_hub=dict(hub, log_scalars=scalars))
    return plain_types(checkpoint)


def restore_history_buffers(checkpoint: Any) -> Any:
    """Turn the plain log scalars of :func:`to_plain_checkpoint` back into
    ``HistoryBuffer`` objects (in place); returns ``checkpoint``."""
    from mmengine.logging import HistoryBuffer
    hub = checkpoint.get('message_hub') if isinstance(checkpoint,
                                                      dict) else None
    scalars = hub.get('log_scalars') if isinstance(hub, dict) else None
    if isinstance(scalars, dict):
        for key, value in scalars.items():
            if isinstance(value, dict) and set(value) == set(HISTORY_KEYS):
                scalars[key] = HistoryBuffer(*(value[k] for k in HISTORY_KEYS))
    return checkpoint


def _upgrade_command(filename: str) -> str:
    return ('It was probably written by mmengine without brnpa_plugins. '
            'Convert it once with `python tools/upgrade_checkpoint.py '
            f'{filename}`, which reads it without running code from it.')


def load_local_checkpoint(filename: str, map_location=None):
    """Load a local runner checkpoint with ``weights_only=True``.

    Plain log scalars are turned back into ``HistoryBuffer`` objects; files
    written by earlier versions of this plugin (a ``HistoryBuffer`` rebuilt
    from lists) load too.

    Raises:
        FileNotFoundError: the file does not exist.
        LegacyCheckpointError: the file holds objects that are refused (e.g.
            a runner checkpoint written without this plugin); the message
            names the file and the conversion command.
        CheckpointError: the file is empty, truncated or not a checkpoint.
    """
    from mmengine.logging import HistoryBuffer
    fix = _upgrade_command(filename)
    try:
        checkpoint = load_checkpoint_file(filename, map_location,
                                          refused_fix=fix,
                                          extra_globals=[HistoryBuffer])
    except CheckpointError as error:
        if fix in str(error):
            raise LegacyCheckpointError(str(error)) from None
        raise
    return restore_history_buffers(checkpoint)


# --- atomic saving ----------------------------------------------------------

def _is_local(filename: str) -> bool:
    return '://' not in filename or filename.startswith('file://')


def save_checkpoint(checkpoint, filename, file_client_args=None,
                    backend_args=None):
    """mmengine's ``save_checkpoint``, writing plain values atomically.

    Same arguments as ``mmengine.runner.save_checkpoint``. Local files go
    through :func:`~brnpa_plugins.core.io.atomic_save` (temporary file,
    fsync, rename); other back ends (``s3://``, ``pavi://``...) are left to
    mmengine.
    """
    if SAVE_OPTIONS['plain']:
        checkpoint = to_plain_checkpoint(checkpoint)
    local = (file_client_args is None and backend_args is None
             and _is_local(os.fspath(filename)))
    if SAVE_OPTIONS['atomic'] and local:
        path = os.fspath(filename)
        atomic_save(checkpoint, path[len('file://'):]
                    if path.startswith('file://') else path)
        return
    save_checkpoint.mmengine(checkpoint, filename, file_client_args,
                             backend_args)


def save_checkpoint_with_step(hook, runner, step, meta) -> None:
    """``CheckpointHook._save_checkpoint_with_step``, in a safe order.

    mmengine deletes the checkpoint that ``max_keep_ckpts`` drops *before*
    writing the new one, and writes ``last_checkpoint`` in place: a kill in
    between leaves nothing to resume from. Here the new checkpoint is
    written (atomically), then ``last_checkpoint`` (atomically), and only
    then is the dropped checkpoint deleted.
    """
    from mmengine.dist import is_main_process
    dropped = []
    if hook.max_keep_ckpts > 0 and not (hook.keep_ckpt_ids
                                        and hook.keep_ckpt_ids[-1] == step):
        if len(hook.keep_ckpt_ids) == hook.max_keep_ckpts:
            dropped.append(hook.keep_ckpt_ids.popleft())
        hook.keep_ckpt_ids.append(step)
        runner.message_hub.update_info('keep_ckpt_ids',
                                       list(hook.keep_ckpt_ids))
    filename = hook.filename_tmpl.format(step)
    hook.last_ckpt = hook.file_backend.join_path(hook.out_dir, filename)
    runner.message_hub.update_info('last_ckpt', hook.last_ckpt)
    runner.save_checkpoint(
        hook.out_dir, filename, hook.file_client_args,
        save_optimizer=hook.save_optimizer,
        save_param_scheduler=hook.save_param_scheduler, meta=meta,
        by_epoch=hook.by_epoch, backend_args=hook.backend_args, **hook.args)
    if not is_main_process():
        return
    atomic_write_text(osp.join(runner.work_dir, 'last_checkpoint'),
                      hook.last_ckpt)
    for old in dropped:
        path = hook.file_backend.join_path(hook.out_dir,
                                           hook.filename_tmpl.format(old))
        if hook.file_backend.isfile(path):
            hook.file_backend.remove(path)
        elif hook.file_backend.isdir(path):  # DeepSpeed saves folders
            hook.file_backend.rmtree(path)


# --- converting old checkpoints ---------------------------------------------

class _PickledHistoryBuffer:
    """Stands for mmengine's ``HistoryBuffer`` in an old checkpoint: keeps
    its two histories and its length, nothing else."""

    def __setstate__(self, state):
        if not isinstance(state, dict):
            raise pickle.UnpicklingError(
                f'{REFUSED_VALUE}: a HistoryBuffer with a '
                f'{type(state).__name__} state')
        self.state = {key: state.get(f'_{key}', state.get(key))
                      for key in HISTORY_KEYS}


def _read_attribute(obj, name):
    """Stands for ``getattr`` in an old checkpoint: a ``HistoryBuffer``
    pickles its statistics methods, which are dropped."""
    buffer = obj is _PickledHistoryBuffer or isinstance(
        obj, _PickledHistoryBuffer)
    if not buffer or not isinstance(name, str) or not name.isidentifier():
        raise pickle.UnpicklingError(
            f'{REFUSED_VALUE}: getattr({obj!r:.60}, {name!r:.60})')
    return None


def _ndarray_stub(*args):
    return _PickledArray()


class _PickledArray:
    """Stands for a numpy array in an old checkpoint: numeric data only."""

    def __setstate__(self, state):
        if not (isinstance(state, tuple) and len(state) == 5
                and isinstance(state[1], tuple)
                and all(isinstance(n, int) and n >= 0 for n in state[1])
                and isinstance(state[2], PickledDType)
                and isinstance(state[4], bytes)):
            raise pickle.UnpicklingError(
                f'{REFUSED_VALUE}: a numpy array of another form')
        shape, dtype, data = state[1], state[2].numeric(), state[4]
        if len(data) != int(np.prod(shape)) * dtype.itemsize:
            raise pickle.UnpicklingError(
                f'{REFUSED_VALUE}: a numpy array of shape {shape} with '
                f'{len(data)} bytes')
        self.value = np.frombuffer(data, dtype=dtype).reshape(shape).tolist()


#: Stand-ins for what mmengine's old runner checkpoints reference.
_LEGACY_READERS = [
    (_PickledHistoryBuffer, 'mmengine.logging.history_buffer.HistoryBuffer'),
    (_read_attribute, '__builtin__.getattr'),
    (_read_attribute, 'builtins.getattr'),
    (_ndarray_stub, 'numpy.core.multiarray._reconstruct'),
    (_ndarray_stub, 'numpy._core.multiarray._reconstruct'),
    (_PickledArray, 'numpy.ndarray'),
]


def _from_stand_ins(value: Any) -> Any:
    from mmengine.logging import HistoryBuffer
    if isinstance(value, _PickledHistoryBuffer):
        state = {key: _from_stand_ins(item)
                 for key, item in value.state.items()}
        return HistoryBuffer(*(state[key] for key in HISTORY_KEYS))
    if isinstance(value, _PickledArray):
        return value.value
    if isinstance(value, dict):
        return type(value)((key, _from_stand_ins(item))
                           for key, item in value.items())
    if isinstance(value, (list, tuple)) and not hasattr(value, '_fields'):
        return type(value)(_from_stand_ins(item) for item in value)
    return value


def unknown_globals(path: str) -> List[str]:
    """What the pickle of ``path`` references beyond what
    :func:`upgrade_checkpoint` reads without ``--trust``."""
    readers = NUMPY_SCALAR_READERS + tuple(_LEGACY_READERS)
    with torch.serialization.safe_globals(list(readers)):
        return sorted(set(
            torch.serialization.get_unsafe_globals_in_checkpoint(path)))


def upgrade_checkpoint(src: str, dst: str = None,
                       trust: bool = False) -> Tuple[str, Sequence[str]]:
    """Re-save an old-form runner checkpoint in the plain form.

    Without ``trust``, the file is read with ``weights_only=True`` and
    stand-ins for exactly what mmengine's runner checkpoints reference
    (``HistoryBuffer``, its numeric numpy arrays and scalars, the
    ``getattr`` of its bound methods): nothing in the file is run, and a
    file that references anything else is refused with the list of what it
    references. With ``trust``, such a file is loaded with
    ``weights_only=False``, which runs whatever code it names: only for
    files you produced yourself.

    The result is written atomically and checked to load with a plain
    ``torch.load``.

    Args:
        src: path of the old checkpoint.
        dst: where to write; defaults to replacing ``src``.
        trust: load with ``weights_only=False`` if need be.

    Returns:
        (str, list): ``dst`` and the globals only ``trust`` allowed.

    Raises:
        LegacyCheckpointError: the file references other globals and
            ``trust`` is False; the message lists them.
    """
    dst = dst or src
    if not osp.isfile(src):
        raise FileNotFoundError(f'checkpoint {src} does not exist')
    try:
        unknown = unknown_globals(src)
    except (ValueError, RuntimeError) as error:
        raise CheckpointError(
            f'{src} is not a zip checkpoint written by torch.save ({error}); '
            'it cannot be inspected.') from None
    if unknown and not trust:
        raise LegacyCheckpointError(
            f'{src} references {unknown}, which are not part of an mmengine '
            'runner checkpoint; loading it would run them. It was not '
            'converted. If you produced this file yourself and trust it, '
            'run again with --trust.')
    if unknown:
        checkpoint = torch.load(src, map_location='cpu', weights_only=False)
    else:
        checkpoint = load_checkpoint_file(src, extra_globals=_LEGACY_READERS)
    checkpoint = to_plain_checkpoint(_from_stand_ins(checkpoint))
    with atomic_path(dst) as tmp:
        torch.save(checkpoint, tmp)
        left = torch.serialization.get_unsafe_globals_in_checkpoint(tmp)
        if left:
            raise CheckpointError(
                f'{src} holds {sorted(set(left))}, which are not plain '
                f'values even once loaded; {dst} was not written. Remove '
                'them from the checkpoint dict and save it again.')
    return dst, unknown
