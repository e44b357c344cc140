import os
import pickle
import stat

import numpy as np
import pytest
import torch

from brnpa_plugins.core import (CheckpointError, atomic_save, atomic_write,
                                atomic_write_json, atomic_write_text,
                                load_checkpoint_file, plain_types)


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


def test_numeric_numpy_scalars_load_as_python_numbers(tmp_path):
    path = atomic_save({'eta': np.float64(2.5), 'n': np.int64(-3),
                        'ok': np.bool_(True), 'half': np.float16(0.5),
                        'big_endian': np.array([7], dtype='>i4')[0]},
                       tmp_path / 'ckpt.pth')
    loaded = load_checkpoint_file(path)
    assert loaded == {'eta': 2.5, 'n': -3, 'ok': True, 'half': 0.5,
                      'big_endian': 7}
    assert [type(v) for v in loaded.values()] == [float, int, bool, float,
                                                  int]
    # nothing was added to torch's allow-list for other loads
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)


class _Scalar:
    """Pickles as numpy's scalar constructor called on ``args``."""

    def __init__(self, *args):
        self.args = args

    def __reduce__(self):
        core = getattr(np, '_core', None) or np.core  # numpy 2, numpy 1
        return core.multiarray.scalar, self.args


@pytest.mark.parametrize('value, why', [
    # an object scalar whose data is a raw pointer
    (_Scalar(np.dtype('O'), b'\x41' * 8), "dtype 'O8'"),
    # a record whose field is an object: the same pointer, one level down
    (_Scalar(np.dtype([('p', 'O')]), b'\x41' * 8), "dtype 'V8'"),
    (_Scalar(np.dtype('f8'), b'\x00' * 4), '4 bytes for a float64'),
    (np.arange(3), 'GLOBAL numpy._core.multiarray._reconstruct'),
    ([np.dtype('f8')], "dtype 'f8' outside a scalar"),
    (np.str_('text'), "dtype 'U4'"),
])
def test_numpy_objects_other_than_numbers_are_refused(tmp_path, value, why):
    path = atomic_save({'value': value}, tmp_path / 'crafted.pth')
    with pytest.raises(CheckpointError,
                       match=rf'crafted.pth holds objects .*{why}'):
        load_checkpoint_file(path)


def test_plain_types_make_a_checkpoint_that_plain_torch_loads(tmp_path):
    value = {'rank1': np.float32(0.5), 'ids': np.arange(2),
             'nested': [(np.int8(1), 'a')], 'w': torch.ones(1)}
    path = atomic_save(plain_types(value), tmp_path / 'plain.pth')
    loaded = torch.load(path, weights_only=True)
    assert loaded['rank1'] == 0.5 and loaded['ids'] == [0, 1]
    assert loaded['nested'] == [(1, 'a')] and torch.equal(loaded['w'],
                                                          torch.ones(1))


SAVE_TWICE = """
import sys
from brnpa_plugins.core import atomic_save
atomic_save({'version': 1}, sys.argv[1])
atomic_save({'version': 2, 'padding': bytes(1 << 20)}, sys.argv[1])
"""


def test_a_writer_killed_while_saving_leaves_the_old_file(tmp_path,
                                                          kill_during_save):
    script = tmp_path / 'save_twice.py'
    script.write_text(SAVE_TWICE)
    path = tmp_path / 'out' / 'latest.pth'
    partial = kill_during_save(r'latest\.pth', script, path, nth=2)
    assert os.path.dirname(partial) == str(path.parent)
    assert os.path.getsize(partial) > 1 << 20  # the new file, complete
    assert load_checkpoint_file(path) == {'version': 1}
    # the next write into the folder removes what the killed one left
    atomic_write_text(tmp_path / 'out' / 'other.txt', 'x')
    assert sorted(os.listdir(path.parent)) == ['latest.pth', 'other.txt']


def test_temporaries_of_live_processes_are_kept(tmp_path):
    from brnpa_plugins.core.io import _temporary_name
    live = tmp_path / _temporary_name('a.pth')  # this process's name
    live.write_bytes(b'writing')
    other_host = tmp_path / '.a.pth.elsewhere-1-0123abcd.tmp'
    other_host.write_bytes(b'writing')
    atomic_write_text(tmp_path / 'b.txt', 'x')
    assert live.exists() and other_host.exists()


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
