import os
import stat

import numpy as np
import pytest
import torch

from brnpa_plugins.core import (allow_numpy_in_checkpoints, atomic_save,
                                atomic_write)


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / 'out.txt'
    atomic_write(path, lambda stream: stream.write('old'), mode='w')

    def broken(stream):
        stream.write('half')
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(path, broken, mode='w')
    assert path.read_text() == 'old'
    assert os.listdir(tmp_path) == ['out.txt']


def test_written_files_get_ordinary_permissions(tmp_path):
    path = atomic_write(tmp_path / 'sub' / 'a.bin', lambda s: s.write(b'x'))
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o666 & ~mask


def test_numpy_values_load_with_weights_only(tmp_path):
    path = atomic_save({'eta': np.float64(2.5), 'ids': np.arange(3)},
                       tmp_path / 'ckpt.pth')
    allow_numpy_in_checkpoints()
    with torch.serialization.safe_globals([]):
        pass  # a context elsewhere must not take the allow-list away
    loaded = torch.load(path, weights_only=True)
    assert loaded['eta'] == 2.5 and loaded['ids'].tolist() == [0, 1, 2]
