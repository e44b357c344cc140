import contextlib
import os

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope='session')
def repo_root():
    return REPO


def pytest_configure(config):
    # Two test workers share two cores: one thread each avoids
    # oversubscription (`make test` also sets OMP_NUM_THREADS=1).
    import torch
    torch.set_num_threads(1)


def _kill_during_save(pattern, script, *args, nth=1, timeout=300, cwd=REPO):
    """Run ``script`` (a path) with ``args`` until the ``nth`` save of a file
    matching ``pattern`` is flushed, then ``kill -9`` it.

    Returns:
        str: the path of the temporary file that was being saved.
    """
    import signal
    import subprocess
    import sys
    import tempfile
    import time
    marker = os.path.join(tempfile.mkdtemp(), 'stalled')
    log = open(marker + '.log', 'w+')
    process = subprocess.Popen(
        [sys.executable, os.path.join(REPO, 'tests', 'stall_in_save.py'),
         pattern, str(nth), marker, script, *map(str, args)],
        cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    try:
        while not os.path.exists(marker) or not open(marker).read():
            if process.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                raise AssertionError(
                    f'{script} ended (or ran {timeout} s) before the save of '
                    f'{pattern} #{nth}:\n{log.read()[-3000:]}')
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.kill()
        process.wait()
        log.close()
    return open(marker).read()


@pytest.fixture(scope='session')
def kill_during_save():
    """kill_during_save(pattern, script, *args, nth=1) -> the temporary file
    (see tests/stall_in_save.py)."""
    return _kill_during_save


@contextlib.contextmanager
def forget_new_default_scopes():
    """Forget the mmengine default scopes runners create inside the block.

    mmengine keeps the scope of the last Runner built process-wide: after a
    runner of another scope (the few-shot configs use ``mmengine``), a
    registry build elsewhere would look in that scope's registry.
    """
    import sys
    known = set()
    if 'mmengine.registry' in sys.modules:
        from mmengine.registry import DefaultScope
        known = set(DefaultScope._instance_dict)
    try:
        yield
    finally:
        if 'mmengine.registry' in sys.modules:
            from mmengine.registry import DefaultScope
            for name in set(DefaultScope._instance_dict) - known:
                del DefaultScope._instance_dict[name]


@pytest.fixture(scope='session')
def scopes_forgotten():
    """:func:`forget_new_default_scopes`, for fixtures of a wider scope."""
    return forget_new_default_scopes


@pytest.fixture(autouse=True)
def _restore_default_scope():
    """Each test forgets the default scopes its runners created (fixtures
    of a wider scope do the same with :func:`forget_new_default_scopes`)."""
    with forget_new_default_scopes():
        yield
