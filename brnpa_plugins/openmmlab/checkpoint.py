"""Runner checkpoints that load with ``torch.load(weights_only=True)``.

mmengine 0.10.7 calls ``torch.load`` without ``weights_only``; since torch
2.6 that means ``weights_only=True``, and its own runner checkpoints fail to
load (``--resume``, ``tools/test.py CKPT``): their message hub pickles
``HistoryBuffer`` objects, whose default pickle form references numpy arrays
and bound methods through ``builtins.getattr``.

The fix is the ``safe_checkpoints`` patch of :mod:`.compat`: ``HistoryBuffer``
pickles to a call of its own constructor with plain Python lists
(``copyreg``) and is allow-listed with numpy's numeric types, and mmengine's
loader for local files becomes :func:`load_local_checkpoint`, which loads
with ``weights_only=True`` explicitly and, for a checkpoint written in the
old form, says how to convert it once (``tools/upgrade_checkpoint.py``).

``weights_only`` is never turned off for files mmengine loads.
"""
import torch

from ..core.io import CheckpointError, atomic_path, load_checkpoint_file


class LegacyCheckpointError(CheckpointError):
    """A checkpoint that only loads with ``weights_only=False``."""


def load_local_checkpoint(filename: str, map_location=None):
    """Load a local checkpoint with ``weights_only=True``.

    Raises:
        FileNotFoundError: the file does not exist.
        LegacyCheckpointError: the file holds objects outside the allow-list
            (e.g. a runner checkpoint written without this plugin); the
            message names the file and the conversion command.
        CheckpointError: the file is empty, truncated or not a checkpoint.
    """
    fix = ('It was probably written by mmengine without brnpa_plugins. If '
           'you trust this file (you trained it yourself), convert it once '
           f'with `python tools/upgrade_checkpoint.py {filename}`.')
    try:
        return load_checkpoint_file(filename, map_location,
                                    refused_fix=fix)
    except CheckpointError as error:
        if fix in str(error):
            raise LegacyCheckpointError(str(error)) from None
        raise


def upgrade_checkpoint(src: str, dst: str = None) -> str:
    """Re-save a trusted old-form runner checkpoint in the safe form.

    This is the one place that loads with ``weights_only=False``: only call
    it on files you produced yourself. The result is written atomically and
    checked to load with ``weights_only=True``.

    Args:
        src: path of the old checkpoint.
        dst: where to write; defaults to replacing ``src``.
    """
    dst = dst or src
    checkpoint = torch.load(src, map_location='cpu', weights_only=False)
    with atomic_path(dst) as tmp:
        torch.save(checkpoint, tmp)
        load_local_checkpoint(tmp, map_location='cpu')
    return dst
