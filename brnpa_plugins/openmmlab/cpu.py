"""``--amp`` and ``--launcher pytorch`` on machines without a GPU.

mmengine 0.10.7 assumes an accelerator in two places that have a CPU
equivalent; on an accelerator both behave exactly as mmengine does. The
patches that put these in mmengine's place are in :mod:`.compat`
(``cpu_amp``, ``cpu_distributed``).

1. ``tools/train.py --amp`` sets ``optim_wrapper.type = 'AmpOptimWrapper'``,
   whose constructor asserts that a GPU (or NPU, MLU, MUSA) is present, and
   whose autocast helper (``mmengine.runner.amp.autocast``) accepts only
   bfloat16 on a CPU, although torch autocasts float16 there too.
   :class:`AmpOptimWrapper` trains on a CPU under bfloat16 autocast (the
   default) without loss scaling (bfloat16 has float32's exponent range,
   so gradients do not underflow), or under float16 autocast with the
   loss scaling of ``loss_scale`` (dynamic by default), through
   ``torch.autocast('cpu')`` and ``torch.amp.GradScaler('cpu')``. Once
   built, it logs the autocast dtype and device it trains with (in the
   run's log).
2. ``--launcher pytorch`` calls ``torch.cuda.set_device`` before creating
   the process group; :func:`init_process_group_on_cpu` skips that call
   when there is no accelerator, so ``tools/dist_train.sh`` runs CPU
   processes with the gloo backend. A CPU model also needs DDP without
   device ids: ``model_wrapper_cfg = dict(type='MMDistributedDataParallel',
   device_ids=None)`` in the config.
"""
from contextlib import contextmanager
from typing import Union

import torch
import torch.distributed
from mmengine.device import get_device
from mmengine.logging import print_log
from mmengine.optim import AmpOptimWrapper as MMEngineAmpOptimWrapper
from mmengine.optim import OptimWrapper


class AmpOptimWrapper(MMEngineAmpOptimWrapper):
    """mmengine's ``AmpOptimWrapper``, plus autocast on a CPU.

    Args:
        loss_scale (float | str | dict): Loss scaling, as in mmengine:
            ``'dynamic'``, a fixed scale or the arguments of the
            ``GradScaler``. Unused with bfloat16 on a CPU. Defaults to
            ``'dynamic'``.
        dtype (str | torch.dtype, optional): Autocast dtype. On a CPU
            ``'bfloat16'`` (the default there) or ``'float16'``.
        use_fsdp (bool): As in mmengine. Defaults to False.
        **kwargs: Arguments of :class:`OptimWrapper` (``optimizer``...).
    """

    def __init__(self,
                 loss_scale: Union[str, float, dict] = 'dynamic',
                 dtype: Union[str, torch.dtype, None] = None,
                 use_fsdp: bool = False,
                 **kwargs):
        if get_device() != 'cpu':
            super().__init__(loss_scale, dtype, use_fsdp, **kwargs)
            self._log_dtype()
            return
        cast = {None: torch.bfloat16, 'bfloat16': torch.bfloat16,
                'float16': torch.float16}.get(
                    dtype, dtype if dtype in (torch.bfloat16, torch.float16)
                    else None)
        if cast is None:
            raise ValueError(
                f'AmpOptimWrapper: dtype={dtype!r} cannot autocast on a CPU: '
                "torch's CPU autocast runs in 'bfloat16' or 'float16'; set "
                'optim_wrapper.dtype to one of them (e.g. --cfg-options '
                'optim_wrapper.dtype=bfloat16) or train on a GPU.')
        OptimWrapper.__init__(self, **kwargs)
        self._scale_update_param = None
        self.cast_dtype = cast
        if cast == torch.bfloat16:
            # A disabled scaler passes the loss and the step through
            # unchanged and keeps the checkpoint format of the accelerator.
            self.loss_scaler = torch.amp.GradScaler('cpu', enabled=False)
        elif loss_scale == 'dynamic':
            self.loss_scaler = torch.amp.GradScaler('cpu')
        elif isinstance(loss_scale, float):
            self._scale_update_param = loss_scale
            self.loss_scaler = torch.amp.GradScaler('cpu',
                                                    init_scale=loss_scale)
        elif isinstance(loss_scale, dict):
            self.loss_scaler = torch.amp.GradScaler('cpu', **loss_scale)
        else:
            raise TypeError('AmpOptimWrapper: loss_scale must be a float, a '
                            f'dict or "dynamic", got {loss_scale!r}')
        self._log_dtype()

    @contextmanager
    def optim_context(self, model: torch.nn.Module):
        """mmengine's context; on a CPU, torch's autocast in
        :attr:`cast_dtype` (mmengine's helper refuses float16 there)."""
        if get_device() != 'cpu':
            with super().optim_context(model):
                yield
            return
        with OptimWrapper.optim_context(self, model), \
                torch.autocast('cpu', dtype=self.cast_dtype):
            yield

    def _log_dtype(self) -> None:
        device = get_device()
        dtype = self.cast_dtype
        if dtype is None:  # autocast's own default on the accelerator
            dtype = torch.get_autocast_dtype(device)
        scaling = '' if self.loss_scaler.is_enabled() else \
            ', no loss scaling'
        print_log(f'AmpOptimWrapper: mixed precision with autocast dtype '
                  f'{str(dtype).replace("torch.", "")} on {device}'
                  f'{scaling}', logger='current')


def init_process_group_on_cpu(backend: str = 'nccl',
                              init_backend: str = 'torch',
                              **kwargs) -> None:
    """mmengine's ``_init_dist_pytorch``, without the GPU on a CPU.

    On an accelerator it calls mmengine's function, which
    :mod:`.compat` stores as ``init_process_group_on_cpu.mmengine_init``.
    """
    if get_device() != 'cpu':
        return init_process_group_on_cpu.mmengine_init(
            backend, init_backend=init_backend, **kwargs)
    if backend != 'gloo' or init_backend != 'torch':
        raise ValueError(
            f'distributed training on CPUs needs the gloo backend of torch, '
            f'got backend={backend!r}, init_backend={init_backend!r}. On '
            'CPUs pass --cfg-options env_cfg.dist_cfg.backend=gloo '
            'model_wrapper_cfg.type=MMDistributedDataParallel '
            'model_wrapper_cfg.device_ids=None')
    torch.distributed.init_process_group(backend=backend, **kwargs)
