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
    so ``tools/train.py --amp`` fails on a CPU although torch autocasts
    bfloat16 and float16 there. The patch registers
    :class:`~brnpa_plugins.openmmlab.cpu.AmpOptimWrapper` under that name in
    mmpretrain's registry. Check: mmengine's wrapper refuses to build on
    this machine.
``cpu_distributed``
    mmengine's pytorch launcher calls ``torch.cuda.set_device`` before
    creating the process group, so ``--launcher pytorch`` fails on CPUs.
    The patch skips that call when there is no accelerator. Check:
    ``mmengine.dist.utils._init_dist_pytorch`` calls ``set_device``.

``lazy_model_index``
    The zoo's models reach ``mmpretrain.get_model`` and ``list_models``
    through mmpretrain's ``ModelHub``, which reads mmpretrain's own model
    index (about 90 files, most of a second) before it takes another; at
    import that cost every ``import brnpa_plugins.openmmlab`` (every
    config's ``custom_imports``). The patch registers the zoo's models
    right after ``ModelHub`` reads mmpretrain's index, the first time it
    is asked for a model. Disabled, they are registered at import. Check:
    ``ModelHub.get`` and ``list_models`` read the index through
    ``ModelHub._register_mmpretrain_models``.

Patches of one of mmpretrain's tools are applied only when that tool runs
through :func:`~brnpa_plugins.openmmlab.tools.run_mmpretrain_tool` (e.g.
``tools/vis_cam.py``), by :func:`apply_tool_patches`:

``grad_cam_use_cuda`` (``visualization/vis_cam``)
    mmpretrain's ``vis_cam.py`` builds its CAM with ``use_cuda=``, which
    the pinned grad-cam 1.5.7 does not take (its CAM follows the model's
    device), so the tool stops with ``unexpected keyword argument
    'use_cuda'``. The patch
    makes the CAM classes of ``pytorch_grad_cam`` ignore that argument;
    ``vis_cam.py`` already puts the model on ``--device``. Check: the tool
    passes ``use_cuda=`` and ``GradCAM`` does not take it.

Patches of every tool of the project (``tools/*.py`` through
:func:`~brnpa_plugins.openmmlab.tools.run_mmpretrain_tool`, and
``tools/train_fewshot.py``):

``quiet_logs``
    mmengine's own ``CheckpointHook`` calls its deprecated ``FileClient``,
    which logs two deprecation warnings on every run that the user cannot
    act on. The patch gives each mmengine logger a filter that drops the
    ``log`` entries of :data:`brnpa_plugins.core.noise.KNOWN_NOISE`, and
    nothing else. Check: mmengine's ``FileClient`` still logs its
    deprecation.

:func:`patch_status` says what was done, why, and on which versions of
mmengine, mmpretrain and torch; ``brnpa plugins --check`` shows it.
"""
import functools
import inspect
import logging
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


# --- lazy_model_index -------------------------------------------------------

def _model_index_needs_patch() -> Optional[str]:
    from mmpretrain.apis import model
    hub = model.ModelHub
    if not isinstance(vars(hub).get('_register_mmpretrain_models'),
                      classmethod):
        return None
    for function in (hub.get, model.list_models):
        if '_register_mmpretrain_models' not in inspect.getsource(function):
            return None
    return ("mmpretrain's ModelHub reads its whole model index before it "
            'takes the zoo\'s models, which at import slows every import')


def _patch_model_index() -> None:
    from mmpretrain.apis.model import ModelHub

    from .model_index import register_model_index
    read_index = vars(ModelHub)['_register_mmpretrain_models'].__func__
    if getattr(read_index, 'registers_zoo', False):
        return
    flag = '_ModelHub__mmpretrain_registered'

    @functools.wraps(read_index)
    def read_index_then_zoo(cls):
        first = not getattr(cls, flag)
        read_index(cls)
        if first:
            register_model_index()

    read_index_then_zoo.registers_zoo = True
    ModelHub._register_mmpretrain_models = classmethod(read_index_then_zoo)


# --- grad_cam_use_cuda -----------------------------------------------------

def _grad_cam_needs_patch() -> Optional[str]:
    try:
        import pytorch_grad_cam
    except ImportError:
        return None  # vis_cam.py says how to install grad-cam
    from .tools import find_mmpretrain_tool
    with open(find_mmpretrain_tool('visualization/vis_cam'),
              encoding='utf-8') as file:
        passes = 'use_cuda=' in file.read()
    takes = 'use_cuda' in inspect.signature(
        pytorch_grad_cam.GradCAM.__init__).parameters
    if not passes or takes:
        return None
    return ("mmpretrain's vis_cam.py passes use_cuda, which the installed "
            'grad-cam no longer accepts')


def _ignoring_use_cuda(init: Callable) -> Callable:
    @functools.wraps(init)
    def wrapper(self, *args, use_cuda: bool = False, **kwargs):
        return init(self, *args, **kwargs)

    wrapper.ignores_use_cuda = True
    return wrapper


def _patch_grad_cam() -> None:
    from pytorch_grad_cam.base_cam import BaseCAM
    pending, seen = [BaseCAM], set()
    while pending:
        cls = pending.pop()
        if cls in seen:
            continue
        seen.add(cls)
        pending.extend(cls.__subclasses__())
        init = cls.__dict__.get('__init__')
        if init is not None and not getattr(init, 'ignores_use_cuda', False):
            cls.__init__ = _ignoring_use_cuda(init)


# --- quiet_logs --------------------------------------------------------------

def _logs_need_patch() -> Optional[str]:
    from mmengine.fileio import file_client
    if '"FileClient" will be deprecated' not in inspect.getsource(
            file_client):
        return None
    return ("mmengine's CheckpointHook logs the deprecation of mmengine's own "
            'FileClient on every run')


class _KnownLogNoise(logging.Filter):
    """Drops the known ``log`` messages of :mod:`brnpa_plugins.core.noise`."""

    def filter(self, record: logging.LogRecord) -> bool:
        from ..core.noise import is_known_noise
        return not is_known_noise('log', record.getMessage())


def _patch_logs() -> None:
    from mmengine.logging import MMLogger
    init = MMLogger.__init__
    if getattr(init, 'drops_known_noise', False):
        return
    noise = _KnownLogNoise()

    @functools.wraps(init)
    def __init__(self, *args, **kwargs):
        init(self, *args, **kwargs)
        self.addFilter(noise)

    __init__.drops_known_noise = True
    MMLogger.__init__ = __init__
    for logger in MMLogger._instance_dict.values():
        logger.addFilter(noise)


PATCHES = (
    Patch('safe_checkpoints', _checkpoints_need_patch, _patch_checkpoints),
    Patch('atomic_checkpoints', _saving_needs_patch, _patch_saving),
    Patch('cpu_amp', _amp_needs_patch, _patch_amp),
    Patch('cpu_distributed', _distributed_needs_patch, _patch_distributed),
    Patch('lazy_model_index', _model_index_needs_patch, _patch_model_index),
)

#: mmpretrain tool (as named for run_mmpretrain_tool) -> its patches.
TOOL_PATCHES = {
    'visualization/vis_cam': (
        Patch('grad_cam_use_cuda', _grad_cam_needs_patch, _patch_grad_cam),),
}

#: The patches of every tool of the project.
EVERY_TOOL_PATCHES = (
    Patch('quiet_logs', _logs_need_patch, _patch_logs),
)

_status: Dict[str, str] = {}
_tool_status: Dict[str, str] = {}


def _versions() -> str:
    import mmengine
    import mmpretrain
    return (f'mmengine {mmengine.__version__}, mmpretrain '
            f'{mmpretrain.__version__}, torch {torch.__version__}')


def _known_names() -> list:
    names = [p.name for p in PATCHES + EVERY_TOOL_PATCHES]
    for patches in TOOL_PATCHES.values():
        names += [p.name for p in patches]
    return names


def _apply(patches, status: Dict[str, str]) -> None:
    disabled = _disabled()
    unknown = disabled - set(_known_names()) - {'all'}
    if unknown:
        raise ValueError(
            f'{DISABLE_ENV}={os.environ.get(DISABLE_ENV)!r} names unknown '
            f'patches {sorted(unknown)}; known: {_known_names()} or all')
    for patch in patches:
        if patch.name in status:
            continue
        if patch.name in disabled or 'all' in disabled:
            status[patch.name] = f'disabled by {DISABLE_ENV}'
            continue
        reason = patch.needed()
        if reason is None:
            status[patch.name] = 'not needed with the installed versions'
            continue
        patch.apply()
        status[patch.name] = f'applied: {reason} ({_versions()})'


def apply_patches() -> Dict[str, str]:
    """Apply each needed, enabled patch once; returns :func:`patch_status`."""
    _apply(PATCHES, _status)
    return patch_status()


def apply_tool_patches(tool: str) -> Dict[str, str]:
    """Apply the needed, enabled patches of mmpretrain's ``tool`` once.

    Args:
        tool (str): The tool as :func:`~.tools.find_mmpretrain_tool` names
            it, e.g. ``'visualization/vis_cam'``, or another tool of the
            project (``'train_fewshot'``); every tool gets
            :data:`EVERY_TOOL_PATCHES`.

    Returns:
        Dict[str, str]: :func:`tool_patch_status`.
    """
    _apply(TOOL_PATCHES.get(tool, ()) + EVERY_TOOL_PATCHES, _tool_status)
    return tool_patch_status()


def tool_patch_status() -> Dict[str, str]:
    """As :func:`patch_status`, for the patches of tools applied so far."""
    return dict(_tool_status)


def patch_status() -> Dict[str, str]:
    """Patch name -> ``applied: <why>``, ``disabled ...`` or ``not needed``."""
    return dict(_status)
