import hashlib
from pathlib import Path

import pytest

from brnpa_plugins.zoo import (NoCheckpointError, UnknownNameError, ZooEntry,
                               expected_sha256, get_entry, load_checkpoint,
                               resolve_checkpoint, zoo_entries)


def test_project_entries_are_in_the_zoo():
    entries = zoo_entries()
    assert 'brnpa-highres-kd_resnet50_8xb12_cub' in entries
    assert {e.task for e in entries.values()} == {
        'Image Classification', 'Person Re-Identification',
        'Few-Shot Classification'}


def test_load_by_zoo_name_verifies_the_full_hash(
        server, cache, checkpoint_bytes, sha256, register_zoo_entries):
    data = checkpoint_bytes(3)
    server.files['/zoo/tiny.pth'] = data
    url = server.url('/zoo/tiny.pth')
    register_zoo_entries([ZooEntry('test-tiny', 'Image Classification',
                                   'Tiny', weights=url, sha256=sha256(data))])
    assert expected_sha256(url) == sha256(data)
    assert load_checkpoint('test-tiny')['meta']['seed'] == 3
    key = hashlib.sha256(url.encode()).hexdigest()[:16]
    assert (cache / key / 'tiny.pth').read_bytes() == data


def test_url_of_a_zoo_entry_gets_its_full_hash(
        server, cache, checkpoint_bytes, sha256, register_zoo_entries):
    server.files['/zoo/tiny.pth'] = checkpoint_bytes(3)
    url = server.url('/zoo/tiny.pth')
    register_zoo_entries([ZooEntry('test-tiny', 'Image Classification',
                                   'Tiny', weights=url,
                                   sha256=sha256(checkpoint_bytes(4)))])
    with pytest.raises(Exception, match='not the published checkpoint'):
        load_checkpoint(url)
    assert list(cache.rglob('*')) == []


def test_entry_without_weights_says_so():
    with pytest.raises(NoCheckpointError,
                       match='brnpa-highres-kd_resnet50_8xb12_cub has no '
                       'checkpoint published yet'):
        load_checkpoint('brnpa-highres-kd_resnet50_8xb12_cub')


def test_unknown_name_suggests_close_names():
    with pytest.raises(UnknownNameError) as error:
        resolve_checkpoint('brnpa-highres_resnet50_cub')
    assert "Did you mean 'brnpa-highres-kd_resnet50_8xb12_cub'" in str(
        error.value)
    assert '`brnpa zoo list`' in str(error.value)
    with pytest.raises(UnknownNameError):
        get_entry('nothing-like-it')


def test_local_path_is_loaded_as_is(tmp_path, checkpoint_bytes):
    path = tmp_path / 'local.pth'
    path.write_bytes(checkpoint_bytes(5))
    assert resolve_checkpoint(path) == path
    assert load_checkpoint(str(path))['meta']['seed'] == 5


def test_zoo_name_wins_over_a_file_of_that_name(
        server, cache, checkpoint_bytes, sha256, register_zoo_entries,
        tmp_path, monkeypatch):
    data = checkpoint_bytes(3)
    server.files['/zoo/tiny.pth'] = data
    register_zoo_entries([ZooEntry('test-tiny', 'Image Classification',
                                   'Tiny', weights=server.url('/zoo/tiny.pth'),
                                   sha256=sha256(data))])
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'test-tiny').write_bytes(checkpoint_bytes(4))
    path = resolve_checkpoint('test-tiny')
    assert path.parent.parent == cache and path.read_bytes() == data
    assert load_checkpoint('test-tiny')['meta']['seed'] == 3
    # './NAME' (or a Path) is the file.
    assert resolve_checkpoint('./test-tiny') == Path('test-tiny')
    assert resolve_checkpoint(Path('test-tiny')) == Path('test-tiny')
    assert load_checkpoint('./test-tiny')['meta']['seed'] == 4
    # The same for the project's own entries.
    name = 'brnpa-highres-kd_resnet50_8xb12_cub'
    (tmp_path / name).write_bytes(checkpoint_bytes(5))
    with pytest.raises(NoCheckpointError, match=f'{name} has no checkpoint'):
        load_checkpoint(name)
    assert load_checkpoint(f'./{name}')['meta']['seed'] == 5
