"""Atomic file writes: write a temporary file, then rename it into place."""
import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator, Union


@contextlib.contextmanager
def staged_file(directory: Union[str, os.PathLike],
                suffix: str = '.tmp') -> Iterator[Path]:
    """A temporary path in ``directory``, removed on exit unless renamed.

    Write the file, then ``os.replace`` it to its final name inside the
    block: readers never see a half-written file, and a failure leaves
    nothing behind.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix='.', suffix=suffix, dir=directory)
    os.close(handle)
    path = Path(name)
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)
