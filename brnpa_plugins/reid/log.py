"""Everything a re-ID tool prints, also kept in ``save_dir/<name>.log``.

torchreid's ``Logger`` mirrors standard output into a file. :class:`TeeLog`
does the same for standard output and standard error. The file is written
through :func:`brnpa_plugins.core.io.atomic_write_text`, so the log on disk
is always a whole earlier state (a crash, even ``kill -9``, never leaves a
half-written file). It is rewritten at most every ``interval`` seconds (text
printed in between is written by a timer at the end of the interval) and
when the block ends, also by an exception, whose traceback is logged. A log
that exists already is continued, not replaced (a resumed run keeps the
history).
"""
import os
import sys
import threading
import time
import traceback
from typing import TextIO

from brnpa_plugins.core.io import atomic_write_text


class _Tee:
    """A text stream writing to ``stream`` and to the log's buffer."""

    def __init__(self, stream: TextIO, log: 'TeeLog'):
        self._stream, self._log = stream, log

    def write(self, text: str) -> int:
        self._stream.write(text)
        self._log.append(text)
        return len(text)

    def flush(self) -> None:
        self._stream.flush()
        self._log.save(force=False)

    def __getattr__(self, name):  # isatty, encoding, fileno...
        return getattr(self._stream, name)


class TeeLog:
    """Context manager copying ``sys.stdout`` and ``sys.stderr`` to a file.

    Args:
        path: the log file (its folder is created).
        interval: seconds between two rewrites of the file while running.
    """

    def __init__(self, path: str, interval: float = 1.0):
        self.path = os.path.abspath(path)
        self.interval = interval
        self._parts = []
        self._saved = 0.0
        self._lock = threading.RLock()
        self._timer = None
        if os.path.isfile(self.path):
            with open(self.path, encoding='utf-8', errors='replace') as old:
                self._parts.append(old.read())
            if self._parts[0] and not self._parts[0].endswith('\n'):
                self._parts.append('\n')
            self._parts.append(f'{"=" * 20} continued {_now()} {"=" * 20}\n')

    def append(self, text: str) -> None:
        with self._lock:
            self._parts.append(text)
            self.save(force=False)

    def text(self) -> str:
        with self._lock:
            return ''.join(self._parts)

    def save(self, force: bool = True) -> None:
        """Rewrite the file now (``force``) or when ``interval`` has passed
        since the last rewrite; otherwise make sure a timer will."""
        with self._lock:
            now = time.monotonic()
            if force or now - self._saved >= self.interval:
                self._saved = now
                if self._timer is not None:
                    self._timer.cancel()
                    self._timer = None
                atomic_write_text(self.path, self.text())
            elif self._timer is None:
                self._timer = threading.Timer(
                    self.interval - (now - self._saved), self._on_timer)
                self._timer.daemon = True
                self._timer.start()

    def _on_timer(self) -> None:
        with self._lock:
            self._timer = None
            self.save()

    def __enter__(self) -> 'TeeLog':
        self._streams = sys.stdout, sys.stderr
        sys.stdout = _Tee(sys.stdout, self)
        sys.stderr = _Tee(sys.stderr, self)
        print(f'Log file: {self.path}')
        return self

    def __exit__(self, kind, error, trace) -> None:
        sys.stdout, sys.stderr = self._streams
        with self._lock:
            if error is not None:
                self._parts.append(''.join(
                    traceback.format_exception(kind, error, trace)))
            self.save()


def _now() -> str:
    return time.strftime('%Y-%m-%d %H:%M:%S')
