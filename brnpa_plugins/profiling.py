"""Peak memory of one step, for the benchmark tools.

On a GPU, torch's own peak statistics. On a CPU, the rise of the process's
peak resident size (``VmHWM``): it sees every allocation torch makes, which
``tracemalloc`` does not, and costs the step nothing. Linux only; elsewhere
the CPU peak is the resident size as the operating system reports it.
"""
import ctypes
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
