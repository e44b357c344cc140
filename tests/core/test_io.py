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


def test_one_safe_loader_names_the_file_and_the_fix(tmp_path):
    from brnpa_plugins.core import CheckpointError, load_checkpoint_file
    good = atomic_save({'w': torch.ones(8)}, tmp_path / 'good.pth')
    assert torch.equal(load_checkpoint_file(good)['w'], torch.ones(8))
    whole = open(good, 'rb').read()
    for name, data in (('empty.pth', b''), ('text.pth', b'{"a": 1}\n'),
                       ('cut.pth', whole[:len(whole) // 2])):
        (tmp_path / name).write_bytes(data)
        with pytest.raises(CheckpointError,
                           match=rf'teacher checkpoint .*{name} is not a '
                           rf'complete PyTorch checkpoint \({len(data)} '
                           'bytes;.*Write it again'):
            load_checkpoint_file(tmp_path / name, what='teacher checkpoint')
    torch.save({'run': os.system}, tmp_path / 'code.pth')
    with pytest.raises(CheckpointError, match=r'code.pth holds objects .*'
                       r'posix.system.*Convert it with X\.'):
        load_checkpoint_file(tmp_path / 'code.pth',
                             refused_fix='Convert it with X.')
    with pytest.raises(FileNotFoundError, match='checkpoint .*none.pth does '
                       'not exist'):
        load_checkpoint_file(tmp_path / 'none.pth')
