"""Checkpoints and result files, written atomically and loaded safely.

Everything is written to a temporary file in the target folder and then
renamed over the target, so an interrupted run never leaves a half-written
checkpoint. Checkpoints hold only tensors and plain Python values (the RNG
states included), so they load with ``torch.load(weights_only=True)``.
"""
import os
import random
from typing import Any, Dict, Optional, Union

import numpy as np
import torch
from torch import nn

from ..core.io import atomic_save, atomic_write_json, load_checkpoint_file

PathLike = Union[str, os.PathLike]
#: File names inside a work directory.
LATEST = 'latest.pth'
BEST = 'best.pth'


def save_checkpoint(state: Dict[str, Any], path: PathLike) -> str:
    """Save a checkpoint dict atomically with ``torch.save``."""
    return atomic_save(state, path)


def save_json(data: Dict[str, Any], path: PathLike) -> str:
    """Write a JSON file atomically (indented, for people to read; the
    ``±`` of the results is written as it is)."""
    return atomic_write_json(path, data, ensure_ascii=False)


def load_checkpoint(path: PathLike,
                    map_location: Optional[Union[str, torch.device]] = 'cpu'
                    ) -> Dict[str, Any]:
    """Load a checkpoint with ``weights_only=True``.

    Raises:
        FileNotFoundError: if ``path`` does not exist (the message says
            which files tools/train_fewshot.py writes).
        CheckpointError: the file is empty, truncated or not a checkpoint.
    """
    try:
        return load_checkpoint_file(path, map_location)
    except FileNotFoundError as error:
        raise FileNotFoundError(
            f'{error}; pass a file written by tools/train_fewshot.py (e.g. '
            'WORK_DIR/latest.pth or WORK_DIR/best.pth).') from None


def load_model_weights(model: nn.Module, path: PathLike) -> nn.Module:
    """Load the learner weights of a checkpoint (or a bare state dict)."""
    state = load_checkpoint(path)
    model.load_state_dict(state.get('model', state))
    return model


def rng_state() -> Dict[str, Any]:
    """The Python, NumPy and torch RNG states as loadable plain values.

    learn2learn samples ways and shots with Python's ``random``; NumPy's
    state is stored as a list so that no array needs unpickling.
    """
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    state = {
        'python': random.getstate(),
        'numpy': (kind, keys.tolist(), pos, has_gauss, gauss),
        'torch': torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: Dict[str, Any]) -> None:
    """Restore the states returned by :func:`rng_state`."""
    version, internal, gauss = state['python']
    random.setstate((version, tuple(internal), gauss))
    kind, keys, pos, has_gauss, gauss = state['numpy']
    np.random.set_state(
        (kind, np.asarray(keys, dtype=np.uint32), pos, has_gauss, gauss))
    torch.set_rng_state(state['torch'])
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state['cuda'])
