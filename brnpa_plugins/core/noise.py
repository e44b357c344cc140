"""The known noise of other libraries that the project's tools hide.

Every command of ``tools/`` printed the same third-party messages, none of
which the user can act on. :data:`KNOWN_NOISE` lists them, each with the
library that emits it; :func:`quiet_known_noise` (called by the tools, not
on import of the package) hides exactly those, never the project's own
warnings. Messages that mmengine logs rather than warns are dropped by the
``quiet_logs`` patch of :mod:`brnpa_plugins.openmmlab.compat`, from the
same list.
"""
import contextlib
import io
import re
import sys
import warnings
from typing import Iterable, NamedTuple, Tuple


class Noise(NamedTuple):
    """One known message: how it is emitted, its start and its source."""
    kind: str  # 'warning', 'log' (mmengine's logger) or 'print' (on import)
    message: str  # a regular expression matching the message's start
    source: str  # the module (warning, print) or library (log) emitting it
    why: str  # why it can be ignored


KNOWN_NOISE: Tuple[Noise, ...] = (
    Noise('warning', r'Fail to import ``MultiScaleDeformableAttention``',
          r'mmcv\.cnn\.bricks\.transformer',
          'mmcv-lite has no compiled ops; no BR-NPA model uses this one'),
    Noise('warning', r"'pin_memory' argument is set as true but no "
          r'accelerator', r'torch\.utils\.data\.dataloader',
          "the configs' data loaders pin memory for GPUs; on a CPU torch "
          'ignores it'),
    Noise('warning', r'pkg_resources is deprecated', r'.*',
          "mmengine finds mmpretrain's configs through pkg_resources"),
    Noise('warning', r'Cython evaluation \(very fast so highly recommended\)',
          r'torchreid', "torchreid's Cython rank evaluation is not built; "
          'the re-ID tools evaluate with brnpa_plugins.reid.evaluate_rank, '
          'a vectorised one (docs/benchmarks.md)'),
    Noise('log', r'"FileClient" will be deprecated', 'mmengine',
          "mmengine's own CheckpointHook calls its deprecated FileClient"),
    Noise('log', r'"HardDiskBackend" is the alias of "LocalBackend"',
          'mmengine', "the same call, through FileClient's old name"),
    Noise('print', r'Gym has been unmaintained', 'gym',
          'learn2learn imports gym for its reinforcement-learning tasks, '
          'which no few-shot config uses'),
)


def noise_of(kind: str) -> Tuple[Noise, ...]:
    """The entries of :data:`KNOWN_NOISE` of one ``kind``."""
    return tuple(noise for noise in KNOWN_NOISE if noise.kind == kind)


def is_known_noise(kind: str, message: str) -> bool:
    """Whether ``message`` is a known third-party message of ``kind``."""
    return any(re.match(noise.message, message) for noise in noise_of(kind))


def quiet_known_noise(printed_on_import: Iterable[str] = ()) -> None:
    """Hide the known warnings, for the rest of the process.

    Args:
        printed_on_import: Modules among the ``print`` entries (``'gym'``)
            to import now, with their known notice taken out of what they
            print; anything else they print still reaches stderr.
    """
    for noise in noise_of('warning'):
        warnings.filterwarnings('ignore', message=noise.message,
                                module=noise.source)
    for module in printed_on_import:
        if module in sys.modules:
            continue
        captured = io.StringIO()
        try:
            with contextlib.redirect_stderr(captured):
                __import__(module)
        except ImportError:
            pass  # not installed: nothing to hide
        finally:
            text = captured.getvalue()
            if text and not is_known_noise('print', text):
                sys.stderr.write(text)
