"""Peak memory of one step and the machine, for the benchmark tools.

On a GPU, torch's own peak statistics. On a CPU, the rise of the process's
peak resident size (``VmHWM``): it sees every allocation torch makes, which
``tracemalloc`` does not, and costs the step nothing. Linux only; elsewhere
the CPU peak is the resident size as the operating system reports it.
"""
import ctypes
import os
import platform
import resource


def _status_kib(field: str) -> int:
    try:
        with open('/proc/self/status') as stream:
            for line in stream:
                if line.startswith(field + ':'):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def start_peak_memory(device: str) -> int:
    """Start a peak measurement; returns the current usage in bytes."""
    import torch
    if device == 'cuda':
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        return torch.cuda.memory_allocated()
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
    if device == 'cuda':
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated()
    return _status_kib('VmHWM') * 1024


def cpu_name() -> str:
    """The CPU model (``/proc/cpuinfo``), or what ``platform`` knows."""
    try:
        with open('/proc/cpuinfo') as stream:
            return next(line.split(':', 1)[1].strip() for line in stream
                        if line.startswith('model name'))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def machine(device: str, threads=None) -> str:
    """One line naming the device, torch and the thread count, for the
    benchmark tables; ``threads`` None means torch's current count."""
    import torch
    if device == 'cuda':
        return f'{torch.cuda.get_device_name()}, torch {torch.__version__}'
    threads = threads or torch.get_num_threads()
    return (f'{cpu_name()}, {os.cpu_count()} cores, torch '
            f'{torch.__version__}, {threads} thread'
            f'{"s" if threads > 1 else ""}')
