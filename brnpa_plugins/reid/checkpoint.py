"""torchreid engine checkpoints: saved atomically, loaded with weights_only.

torchreid's engine stores rank-1 as a numpy float, which
``torch.load(weights_only=True)`` (the default since torch 2.6) refuses. The
functions here store plain Python numbers, write through a temporary file
that is flushed to disk before it replaces the target, and always load with
``weights_only=True``. Checkpoints written by torchreid itself still load:
:func:`~brnpa_plugins.core.io.load_checkpoint_file` reads their numpy
scalars of numeric types as Python numbers, and refuses any other numpy
object.
"""
import os
import os.path as osp
import shutil
from typing import Any, Dict, Optional, Tuple

import torch
from torch import nn

from ..core.io import (atomic_path, atomic_save, load_checkpoint_file,
                       plain_types)

#: A checkpoint file of epoch E is named like torchreid names it.
CHECKPOINT_NAME = 'model.pth.tar-{epoch}'
BEST_NAME = 'model-best.pth.tar'


def save_checkpoint(state: Dict[str, Any],
                    save_dir: str,
                    is_best: bool = False) -> str:
    """Save an engine state as ``save_dir/model.pth.tar-<epoch>``.

    Args:
        state: a dict with at least ``'state_dict'`` and ``'epoch'``; numpy
            numbers in it are stored as Python numbers.
        save_dir: directory (created if missing).
        is_best: also write ``model-best.pth.tar``.

    Returns:
        The path of the checkpoint.
    """
    if 'state_dict' not in state or 'epoch' not in state:
        raise ValueError("a checkpoint state needs 'state_dict' and 'epoch', "
                         f'got keys {sorted(state)}')
    os.makedirs(save_dir, exist_ok=True)
    state = plain_types(state)
    path = osp.join(save_dir, CHECKPOINT_NAME.format(epoch=state['epoch']))
    atomic_save(state, path)
    if is_best:
        best = osp.join(save_dir, BEST_NAME)
        with atomic_path(best) as tmp:
            shutil.copyfile(path, tmp)
    print(f'Checkpoint saved to "{path}"')
    return path


def load_checkpoint(fpath: str) -> Dict[str, Any]:
    """Load a checkpoint with ``torch.load(weights_only=True)`` on the CPU."""
    return load_checkpoint_file(
        fpath, refused_fix='If you trust it, load it once with '
        'torch.load(weights_only=False) and re-save it with '
        'brnpa_plugins.reid.save_checkpoint.')


def _state_dict(checkpoint: Dict[str, Any]) -> Dict[str, torch.Tensor]:
    state = checkpoint.get('state_dict', checkpoint)
    # Weights saved from nn.DataParallel carry a "module." prefix.
    return {key[7:] if key.startswith('module.') else key: value
            for key, value in state.items()}


def resume_from_checkpoint(fpath: str,
                           model: nn.Module,
                           optimizer: Optional[torch.optim.Optimizer] = None,
                           scheduler=None) -> int:
    """Restore model, optimizer and scheduler; return the epoch to start at.

    Same contract as ``torchreid.utils.resume_from_checkpoint``.
    """
    checkpoint = load_checkpoint(fpath)
    model.load_state_dict(_state_dict(checkpoint))
    if optimizer is not None and 'optimizer' in checkpoint:
        optimizer.load_state_dict(checkpoint['optimizer'])
    if scheduler is not None and 'scheduler' in checkpoint:
        scheduler.load_state_dict(checkpoint['scheduler'])
    epoch = int(checkpoint['epoch'])
    rank1 = checkpoint.get('rank1')
    print(f'Resumed from "{fpath}": epoch {epoch}' +
          ('' if rank1 is None else f', rank-1 {float(rank1):.1%}'))
    return epoch


def load_weights(model: nn.Module, fpath: str) -> None:
    """Load the weights whose name and shape match, as torchreid's
    ``load_pretrained_weights`` does (e.g. all but another dataset's
    classifier), and say which were skipped."""
    state = _state_dict(load_checkpoint(fpath))
    if not _load_matching(model, fpath, state,
                          'skipped (name or shape differ)'):
        raise RuntimeError(
            f'no weight in "{fpath}" matches {type(model).__name__} in name '
            'and shape: is it a checkpoint of this model?')


def _load_matching(model: nn.Module, fpath: str, state: Dict[str, Any],
                   skipped_as: str) -> int:
    """Load the weights of ``state`` whose name and shape match; print the
    others as ``skipped_as``. Returns how many were loaded."""
    own = model.state_dict()
    matched = {key: value for key, value in state.items()
               if key in own and own[key].shape == value.shape}
    if matched:
        own.update(matched)
        model.load_state_dict(own)
        skipped = sorted(set(state) - set(matched))
        print(f'Loaded weights from "{fpath}"' +
              (f'; {skipped_as}: {skipped}' if skipped else ''))
    return len(matched)


class WeightsMismatchError(ValueError):
    """A checkpoint whose weights do not fit the model built to read it."""


def _listed(keys, limit: int = 8) -> str:
    keys = sorted(keys)
    more = f' and {len(keys) - limit} more' if len(keys) > limit else ''
    return ', '.join(keys[:limit]) + more


def load_all_weights(model: nn.Module, fpath: str, built_from: str,
                     ignored: Tuple[str, ...] = ('classifier',)) -> None:
    """Load a checkpoint that must fit the model, weight for weight.

    For tools that use a trained model as it is (the maps and matches of
    ``tools/visualize_reid.py``): a weight left at its random
    initialisation would be drawn without a word. Only the modules named in
    ``ignored`` (the identity classifiers, which ranking never uses and
    whose size is the number of training identities) may differ.

    Args:
        model: the model the config builds.
        fpath: the checkpoint.
        built_from: what built the model (the config file and overrides),
            named in the error.
        ignored: top-level module names whose weights may differ or be
            missing.

    Raises:
        WeightsMismatchError: naming the checkpoint, ``built_from``, the
            weights missing from the checkpoint, those it has that the
            model lacks, those whose shapes differ, and the fix.
    """
    own = model.state_dict()
    state = _state_dict(load_checkpoint(fpath))

    def checked(key):
        return key.split('.', 1)[0] not in ignored

    missing = [k for k in own if k not in state and checked(k)]
    unexpected = [k for k in state if k not in own and checked(k)]
    reshaped = [f'{k} (checkpoint {list(state[k].shape)}, model '
                f'{list(own[k].shape)})' for k in own if k in state
                and checked(k) and state[k].shape != own[k].shape]
    if missing or unexpected or reshaped:
        problems = [f'{label}: {_listed(keys)}' for label, keys in (
            ('missing from the checkpoint', missing),
            ('in the checkpoint but not in the model', unexpected),
            ('shape differs', reshaped)) if keys]
        log = osp.join(osp.dirname(osp.dirname(osp.abspath(fpath))),
                       'train.log')
        where = (f' (printed at the top of {log})' if osp.isfile(log)
                 else '')
        raise WeightsMismatchError(
            f'checkpoint "{fpath}" does not fit the model built from '
            f'{built_from}: ' + '; '.join(problems) + '. Use the config '
            f'and KEY VALUE overrides the checkpoint was trained with{where}.')
    _load_matching(model, fpath, state, 'not used here')
