import os
import stat

import numpy as np
import pytest
import torch

from brnpa_plugins.core import (allow_numpy_in_checkpoints, atomic_save,
                                atomic_write, atomic_write_json,
                                atomic_write_text)


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


def test_text_and_json_go_through_the_atomic_writer(tmp_path, monkeypatch):
    from brnpa_plugins.core import io
    text = atomic_write_text(tmp_path / 'out' / 'table.md', 'été\n')
    assert open(text, encoding='utf-8').read() == 'été\n'
    data = atomic_write_json(tmp_path / 'out' / 'm.json', {'a': float('nan')},
                             allow_nan=True)
    assert open(data).read() == '{\n  "a": NaN\n}'
    monkeypatch.setattr(io.os, 'replace', lambda *a: (_ for _ in ()).throw(
        KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        atomic_write_text(tmp_path / 'out' / 'table.md', 'new\n')
    assert open(text, encoding='utf-8').read() == 'été\n'
    assert sorted(os.listdir(tmp_path / 'out')) == ['m.json', 'table.md']


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
