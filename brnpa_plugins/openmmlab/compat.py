"""Every change brnpa_plugins makes to mmengine's and mmpretrain's internals.

``import brnpa_plugins.openmmlab`` (a config's ``custom_imports``) calls
:func:`apply_patches`; ``import brnpa_plugins`` alone changes nothing in any
other library. Each patch works around one upstream behaviour, is applied
only where a check finds that behaviour (so it turns itself off once
upstream changes), and can be turned off with the environment variable
``BRNPA_COMPAT_DISABLE`` (comma-separated names, or ``all``):

``safe_checkpoints``
    mmengine (0.10.7 and before) loads local checkpoints with a bare
    ``torch.load``, which is ``weights_only=True`` from torch 2.6: its own
    runner checkpoints (``--resume``, ``tools/test.py CKPT``) then fail on
    the message hub's ``HistoryBuffer``. The patch pickles ``HistoryBuffer``
    through its constructor (``copyreg``), allow-lists it and numpy's
    numeric types, and replaces mmengine's local-file loader by
    :func:`~brnpa_plugins.openmmlab.checkpoint.load_local_checkpoint`
    (``weights_only=True``, an error naming the file and the fix). Check:
    torch >= 2.6 and mmengine's ``load_from_local`` passes no
    ``weights_only``.
``cpu_amp``
    mmengine's ``AmpOptimWrapper`` asserts that an accelerator is present,
    so ``tools/train.py --amp`` fails on a CPU although autocast supports
    bfloat16 there. The patch registers
    :class:`~brnpa_plugins.openmmlab.cpu.AmpOptimWrapper` under that name in
    mmpretrain's registry. Check: mmengine's wrapper refuses to build on
    this machine.
``cpu_distributed``
    mmengine's pytorch launcher calls ``torch.cuda.set_device`` before
    creating the process group, so ``--launcher pytorch`` fails on CPUs.
    The patch skips that call when there is no accelerator. Check:
    ``mmengine.dist.utils._init_dist_pytorch`` calls ``set_device``.

:func:`patch_status` says what was done, why, and on which versions of
mmengine, mmpretrain and torch; ``brnpa plugins --check`` shows it.
"""
import copyreg
import inspect
import os
from typing import Callable, Dict, NamedTuple, Optional

import torch

#: Comma-separated patch names (or ``all``) that are not to be applied.
DISABLE_ENV = 'BRNPA_COMPAT_DISABLE'


class Patch(NamedTuple):
    """One change to another library, with the check that it is needed."""
    name: str
    needed: Callable[[], Optional[str]]  # why it is needed, None if not
    apply: Callable[[], None]


def _disabled() -> set:
    value = os.environ.get(DISABLE_ENV, '')
    return {name.strip() for name in value.split(',') if name.strip()}


# --- safe_checkpoints -------------------------------------------------------

def _reduce_history_buffer(buffer):
    from mmengine.logging import HistoryBuffer
    return (HistoryBuffer, (buffer._log_history.tolist(),
                            buffer._count_history.tolist(),
                            buffer.max_length))


def _checkpoints_need_patch() -> Optional[str]:
    from mmengine.runner import checkpoint
    version = tuple(int(v) for v in torch.__version__.split('+')[0].split(
        '.')[:2])
    if version < (2, 6):
        return None  # torch.load still defaults to weights_only=False
    if 'weights_only' in inspect.getsource(checkpoint.load_from_local):
        return None  # mmengine chooses weights_only itself
    return ('mmengine loads local checkpoints with a bare torch.load, which '
            'refuses its runner checkpoints on torch >= 2.6')


def _patch_checkpoints() -> None:
    from mmengine.logging import HistoryBuffer
    from mmengine.runner.checkpoint import CheckpointLoader

    from ..core.io import allow_numpy_in_checkpoints
    from .checkpoint import load_local_checkpoint
    copyreg.pickle(HistoryBuffer, _reduce_history_buffer)
    torch.serialization.add_safe_globals([HistoryBuffer])
    allow_numpy_in_checkpoints()
    CheckpointLoader.register_scheme(prefixes='', force=True)(
        load_local_checkpoint)


# --- cpu_amp ----------------------------------------------------------------

def _amp_needs_patch() -> Optional[str]:
    from mmengine.optim import AmpOptimWrapper
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    try:
        AmpOptimWrapper(optimizer=optimizer)
    except AssertionError:
        return "mmengine's AmpOptimWrapper needs an accelerator"
    return None


def _patch_amp() -> None:
    from mmpretrain.registry import OPTIM_WRAPPERS

    from .cpu import AmpOptimWrapper
    OPTIM_WRAPPERS.register_module(name='AmpOptimWrapper',
                                   module=AmpOptimWrapper, force=True)


# --- cpu_distributed --------------------------------------------------------

def _distributed_needs_patch() -> Optional[str]:
    from mmengine.dist import utils
    if 'set_device' not in inspect.getsource(utils._init_dist_pytorch):
        return None
    return ("mmengine's pytorch launcher calls torch.cuda.set_device, which "
            'fails without a GPU')


def _patch_distributed() -> None:
    from mmengine.dist import utils

    from .cpu import init_process_group_on_cpu
    current = utils._init_dist_pytorch
    if current is not init_process_group_on_cpu:
        init_process_group_on_cpu.mmengine_init = current
        utils._init_dist_pytorch = init_process_group_on_cpu


PATCHES = (
    Patch('safe_checkpoints', _checkpoints_need_patch, _patch_checkpoints),
    Patch('cpu_amp', _amp_needs_patch, _patch_amp),
    Patch('cpu_distributed', _distributed_needs_patch, _patch_distributed),
)

_status: Dict[str, str] = {}


def _versions() -> str:
    import mmengine
    import mmpretrain
    return (f'mmengine {mmengine.__version__}, mmpretrain '
            f'{mmpretrain.__version__}, torch {torch.__version__}')


def apply_patches() -> Dict[str, str]:
    """Apply each needed, enabled patch once; returns :func:`patch_status`."""
    disabled = _disabled()
    unknown = disabled - {p.name for p in PATCHES} - {'all'}
    if unknown:
        raise ValueError(
            f'{DISABLE_ENV}={os.environ.get(DISABLE_ENV)!r} names unknown '
            f'patches {sorted(unknown)}; known: '
            f'{[p.name for p in PATCHES]} or all')
    for patch in PATCHES:
        if patch.name in _status:
            continue
        if patch.name in disabled or 'all' in disabled:
            _status[patch.name] = f'disabled by {DISABLE_ENV}'
            continue
        reason = patch.needed()
        if reason is None:
            _status[patch.name] = 'not needed with the installed versions'
            continue
        patch.apply()
        _status[patch.name] = f'applied: {reason} ({_versions()})'
    return patch_status()


def patch_status() -> Dict[str, str]:
    """Patch name -> ``applied: <why>``, ``disabled ...`` or ``not needed``."""
    return dict(_status)
