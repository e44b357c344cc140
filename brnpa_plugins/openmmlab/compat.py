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
    the message hub's ``HistoryBuffer``. The patch makes mmengine's
    ``save_checkpoint`` store plain values
    (:func:`~brnpa_plugins.openmmlab.checkpoint.to_plain_checkpoint`), so a
    plain ``torch.load(path)`` reads the file anywhere, and replaces
    mmengine's local-file loader by
    :func:`~brnpa_plugins.openmmlab.checkpoint.load_local_checkpoint`
    (``weights_only=True``, an error naming the file and the fix). Nothing
    is added to torch's global allow-list. Check: torch >= 2.6 and
    mmengine's ``load_from_local`` passes no ``weights_only``.
``atomic_checkpoints``
    mmengine writes a checkpoint in place, and ``CheckpointHook`` deletes
    the checkpoint that ``max_keep_ckpts`` drops before it writes the new
    one: ``kill -9`` while saving leaves a truncated file, or nothing to
    resume from. The patch writes local checkpoints atomically (temporary
    file, fsync, rename) and deletes the dropped checkpoint only after the
    new one and ``last_checkpoint`` are in place
    (:func:`~brnpa_plugins.openmmlab.checkpoint.save_checkpoint_with_step`).
    Check: mmengine's ``LocalBackend.put`` opens the target itself, or
    ``CheckpointHook`` removes a checkpoint before it saves one.
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


def _route_saving_through_plugin() -> None:
    """Point every name mmengine saves checkpoints by at ours (once)."""
    import mmengine.runner
    import mmengine.runner.checkpoint
    import mmengine.runner.runner

    from .checkpoint import save_checkpoint
    current = mmengine.runner.checkpoint.save_checkpoint
    if current is save_checkpoint:
        return
    save_checkpoint.mmengine = current
    for module in (mmengine.runner, mmengine.runner.checkpoint,
                   mmengine.runner.runner):
        module.save_checkpoint = save_checkpoint


def _patch_checkpoints() -> None:
    from mmengine.runner.checkpoint import CheckpointLoader

    from .checkpoint import SAVE_OPTIONS, load_local_checkpoint
    _route_saving_through_plugin()
    SAVE_OPTIONS['plain'] = True
    CheckpointLoader.register_scheme(prefixes='', force=True)(
        load_local_checkpoint)


# --- atomic_checkpoints -----------------------------------------------------

def _saving_needs_patch() -> Optional[str]:
    from mmengine.fileio.backends.local_backend import LocalBackend
    from mmengine.hooks import CheckpointHook
    reasons = []
    if "open(filepath, 'wb')" in inspect.getsource(LocalBackend.put):
        reasons.append('mmengine writes checkpoints in place')
    method = CheckpointHook._save_checkpoint_with_step
    step = inspect.getsource(getattr(method, 'mmengine', method))
    if 'remove(' in step and step.index('remove(') < step.index(
            'runner.save_checkpoint('):
        reasons.append('CheckpointHook deletes the oldest checkpoint before '
                       'it writes the new one')
    return ' and '.join(reasons) or None


def _patch_saving() -> None:
    from mmengine.hooks import CheckpointHook

    from .checkpoint import SAVE_OPTIONS, save_checkpoint_with_step
    _route_saving_through_plugin()
    SAVE_OPTIONS['atomic'] = True
    save_checkpoint_with_step.mmengine = \
        CheckpointHook._save_checkpoint_with_step
    CheckpointHook._save_checkpoint_with_step = save_checkpoint_with_step


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
    Patch('atomic_checkpoints', _saving_needs_patch, _patch_saving),
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
