"""What the benchmark tools share: the device they run on, the machine
description, models built from configs with random weights, and the peak
memory of one step.

Peak memory: on a GPU, torch's own peak statistics. On a CPU, the rise of
the process's peak resident size (``VmHWM``): it sees every allocation
torch makes, which ``tracemalloc`` does not, and costs the step nothing.
Linux only; elsewhere the CPU peak is the resident size as the operating
system reports it.
"""
import ctypes
import os
import platform
import resource
from typing import Optional


def pinned_cpu_env(threads: int = 1) -> dict:
    """Environment variables that fix how a CPU run does its arithmetic.

    ``threads`` threads, and the AVX2 kernels of torch's own operators
    (ATen), of oneDNN (convolutions) and of MKL (matrix products), which
    every x86 CPU of this project has: training from scratch on small data
    amplifies the last bits of every float operation, so a table or a demo
    number reproduces only with the same thread count and kernels.
    """
    return {'OMP_NUM_THREADS': str(threads), 'MKL_NUM_THREADS': str(threads),
            'ATEN_CPU_CAPABILITY': 'avx2', 'ONEDNN_MAX_CPU_ISA': 'AVX2',
            'MKL_CBWR': 'AVX2'}


def _status_kib(field: str) -> int:
    try:
        with open('/proc/self/status') as stream:
            for line in stream:
                if line.startswith(field + ':'):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def is_cuda(device) -> bool:
    """Whether ``device`` (``'cpu'``, ``'cuda:1'``, a ``torch.device``) is a
    GPU."""
    import torch
    return torch.device(device).type == 'cuda'


def start_peak_memory(device: str) -> int:
    """Start a peak measurement; returns the current usage in bytes."""
    import torch
    if is_cuda(device):
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        return torch.cuda.memory_allocated(device)
    try:
        # Give freed heap memory back to the system, so that the step's
        # allocations show in the resident size instead of reusing it.
        ctypes.CDLL('libc.so.6').malloc_trim(0)
        # Writing 5 resets VmHWM to the current resident size.
        with open('/proc/self/clear_refs', 'w') as stream:
            stream.write('5')
    except OSError:
        pass
    return _status_kib('VmRSS') * 1024


def peak_memory(device: str) -> int:
    """The peak usage in bytes since :func:`start_peak_memory`."""
    import torch
    if is_cuda(device):
        torch.cuda.synchronize(device)
        return torch.cuda.max_memory_allocated(device)
    return _status_kib('VmHWM') * 1024


def cpu_name() -> str:
    """The CPU model (``/proc/cpuinfo``), or what ``platform`` knows."""
    try:
        with open('/proc/cpuinfo') as stream:
            return next(line.split(':', 1)[1].strip() for line in stream
                        if line.startswith('model name'))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def check_device(parser, device: str) -> None:
    """Stop a command line (``parser.error``) unless ``device`` can run.

    Args:
        parser: the tool's ``argparse.ArgumentParser``.
        device: the ``--device`` value: ``cpu``, ``cuda`` or ``cuda:N``.
    """
    import torch
    try:
        kind = torch.device(device).type
    except RuntimeError:
        kind = None
    if kind not in ('cpu', 'cuda'):
        parser.error(f'--device must be cpu, cuda or cuda:N, got {device!r}')
    if kind == 'cuda' and not torch.cuda.is_available():
        build = (f'a CUDA {torch.version.cuda} build' if torch.version.cuda
                 else 'a CPU-only build')
        parser.error(
            f'--device {device}: torch {torch.__version__} ({build}) sees no '
            'CUDA GPU (torch.cuda.is_available() is False); run on a machine '
            'with an NVIDIA GPU and a CUDA build of torch, or pass --device '
            'cpu')
    index = torch.device(device).index
    if kind == 'cuda' and index is not None and \
            index >= torch.cuda.device_count():
        parser.error(f'--device {device}: only {torch.cuda.device_count()} '
                     'CUDA device(s) are visible')


def synchronize(device) -> None:
    """Wait for the queued GPU work of ``device`` (a no-op on a CPU), so
    that a clock read after it counts the work, not its launch."""
    import torch
    if is_cuda(device):
        torch.cuda.synchronize(device)


def machine(device='cpu', threads: Optional[int] = None) -> str:
    """One line naming the device, torch and the CPU thread count, for the
    benchmark tables.

    Args:
        device: where the benchmark runs (``'cpu'``, ``'cuda'``, a
            ``torch.device``).
        threads: the CPU threads of torch; None means its current count.
    """
    import torch
    threads = threads or torch.get_num_threads()
    cores = f'{os.cpu_count()} cores'
    plural = 's' if threads > 1 else ''
    if is_cuda(device):
        return (f'{torch.cuda.get_device_name(device)}, CUDA '
                f'{torch.version.cuda}, torch {torch.__version__}; CPU: '
                f'{cpu_name()}, {cores}, {threads} thread{plural}')
    return (f'{cpu_name()}, {cores}, torch {torch.__version__}, {threads} '
            f'thread{plural}')


def build_random_model(config: str, teacher: Optional[str] = None) -> tuple:
    """The model of an mmpretrain config file, with random weights.

    The config's own initialisation runs, without its pretrained checkpoint
    (the cost of a model does not depend on its weights).

    Args:
        config: path of the config file.
        teacher: for a distillation config (``BRNPADistiller``), the teacher
            checkpoint to give it; None builds its plain student instead.

    Returns:
        The model (on the CPU, in training mode) and the config.
    """
    import logging

    from mmengine.config import Config
    from mmengine.logging import MMLogger

    import brnpa_plugins.openmmlab  # noqa: F401
    from brnpa_plugins.openmmlab.distiller import student_config
    from mmpretrain.registry import MODELS
    cfg = Config.fromfile(config)
    model_cfg = cfg.model
    if model_cfg.type == 'BRNPADistiller':
        if teacher:
            model_cfg.teacher.checkpoint = teacher
        else:
            model_cfg = student_config(model_cfg)
    backbone = model_cfg.backbone
    if backbone.type == 'HighResolutionBackbone':
        backbone = backbone.backbone
    backbone.init_cfg = None  # no pretrained checkpoint
    model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    model = MODELS.build(model_cfg)
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)  # init_weights lists every parameter
    try:
        model.init_weights()
    finally:
        logger.setLevel(level)
    return model, cfg
