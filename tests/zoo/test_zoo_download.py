import os
import urllib.parse

import pytest
import torch

from brnpa_plugins.zoo import (MIRROR_ENV, ChecksumError, DownloadError,
                               default_cache_dir, download_checkpoint,
                               load_checkpoint)


def _cache_files(cache):
    """Every file in the cache, including unfinished downloads."""
    return sorted(str(p.relative_to(cache)) for p in cache.rglob('*')
                  if p.is_file())


def test_cache_dir_comes_from_the_environment(cache):
    assert default_cache_dir() == cache


def test_good_download_is_cached_and_loads_weights_only(
        server, cache, checkpoint_bytes, sha256):
    data = checkpoint_bytes(1)
    server.files['/ckpt.pth'] = data
    path = download_checkpoint(server.url('/ckpt.pth'), sha256(data))
    assert path == cache / 'ckpt.pth' and path.read_bytes() == data
    assert _cache_files(cache) == ['ckpt.pth']
    again = download_checkpoint(server.url('/ckpt.pth'), sha256(data))
    assert again == path and len(server.requests) == 1
    state = load_checkpoint(server.url('/ckpt.pth'))
    assert state['meta'] == {'seed': 1, 'classes': ('a', 'b')}
    assert state['state_dict']['weight'].shape == (64, 64)


def test_hash_mismatch_raises_and_caches_nothing(server, cache,
                                                 checkpoint_bytes, sha256):
    server.files['/ckpt.pth'] = checkpoint_bytes(1)
    wrong = sha256(checkpoint_bytes(2))
    with pytest.raises(ChecksumError, match=f'expected SHA-256 {wrong}'):
        download_checkpoint(server.url('/ckpt.pth'), wrong)
    assert _cache_files(cache) == []


def test_hash_in_file_name_is_checked(server, cache, checkpoint_bytes):
    server.files['/model-0badc0de.pth'] = checkpoint_bytes(1)
    with pytest.raises(ChecksumError, match='starting with 0badc0de'):
        download_checkpoint(server.url('/model-0badc0de.pth'))
    assert _cache_files(cache) == []


def test_hash_in_file_name_is_enough(server, cache, checkpoint_bytes, sha256):
    data = checkpoint_bytes(1)
    name = f'/model-{sha256(data)[:8]}.pth'
    server.files[name] = data
    assert download_checkpoint(server.url(name)).read_bytes() == data


def test_cut_connection_is_resumed_with_a_range_request(
        server, cache, checkpoint_bytes, sha256):
    data = checkpoint_bytes(1)
    server.files['/ckpt.pth'] = data
    server.cut_after['/ckpt.pth'] = half = len(data) // 2
    path = download_checkpoint(server.url('/ckpt.pth'), sha256(data),
                               backoff=0)
    assert path.read_bytes() == data
    assert server.requests == [('/ckpt.pth', None),
                               ('/ckpt.pth', f'bytes={half}-')]
    assert _cache_files(cache) == ['ckpt.pth']


def test_interrupted_download_resumes_on_the_next_call(
        server, cache, checkpoint_bytes, sha256):
    data = checkpoint_bytes(1)
    server.files['/ckpt.pth'] = data
    server.cut_after['/ckpt.pth'] = 1000
    with pytest.raises(DownloadError, match='after 1 attempt'):
        download_checkpoint(server.url('/ckpt.pth'), sha256(data), retries=0)
    assert _cache_files(cache) == ['.partial/ckpt.pth']
    assert (cache / '.partial' / 'ckpt.pth').stat().st_size == 1000
    path = download_checkpoint(server.url('/ckpt.pth'), sha256(data))
    assert path.read_bytes() == data
    assert server.requests[-1] == ('/ckpt.pth', 'bytes=1000-')


def test_server_ignoring_range_restarts_the_file(server, cache,
                                                 checkpoint_bytes, sha256):
    data = checkpoint_bytes(1)
    server.files['/ckpt.pth'] = data
    server.cut_after['/ckpt.pth'] = 1000
    server.honour_range = False
    path = download_checkpoint(server.url('/ckpt.pth'), sha256(data),
                               backoff=0)
    assert path.read_bytes() == data


def test_server_errors_are_retried(server, cache, checkpoint_bytes, sha256):
    data = checkpoint_bytes(1)
    server.files['/ckpt.pth'] = data
    server.fail_first['/ckpt.pth'] = [503, 502]
    path = download_checkpoint(server.url('/ckpt.pth'), sha256(data),
                               backoff=0)
    assert path.read_bytes() == data and len(server.requests) == 3


def test_404_is_a_clear_error_without_retries(server, cache):
    url = server.url('/missing-0123abcd.pth')
    with pytest.raises(DownloadError) as error:
        download_checkpoint(url, backoff=0)
    message = str(error.value)
    assert url in message and 'HTTP 404' in message
    assert MIRROR_ENV in message and str(cache / 'missing-0123abcd.pth') in \
        message
    assert len(server.requests) == 1
    assert _cache_files(cache) == []


def test_unreachable_host_is_a_clear_error(cache, closed_port):
    url = f'http://127.0.0.1:{closed_port}/ckpt-0123abcd.pth'
    with pytest.raises(DownloadError) as error:
        download_checkpoint(url, retries=1, backoff=0)
    message = str(error.value)
    assert f'Could not download {url} after 2 attempt(s)' in message
    assert 'refused' in message.lower()
    assert 'offline' in message and '--dest' in message
    assert MIRROR_ENV in message


def test_mirror_replaces_the_host(server, cache, checkpoint_bytes, sha256,
                                  closed_port, monkeypatch):
    data = checkpoint_bytes(1)
    server.files['/mirror/ckpt.pth'] = data
    monkeypatch.setenv(MIRROR_ENV, server.url('/mirror/'))
    url = f'http://127.0.0.1:{closed_port}/releases/v1/ckpt.pth'
    assert download_checkpoint(url, sha256(data)).read_bytes() == data
    assert server.requests == [('/mirror/ckpt.pth', None)]


def test_mirror_can_be_a_local_folder(cache, checkpoint_bytes, sha256,
                                      closed_port, monkeypatch, tmp_path):
    data = checkpoint_bytes(1)
    (tmp_path / 'mirror').mkdir()
    (tmp_path / 'mirror' / 'ckpt.pth').write_bytes(data)
    monkeypatch.setenv(MIRROR_ENV, (tmp_path / 'mirror').as_uri())
    url = f'http://127.0.0.1:{closed_port}/ckpt.pth'
    assert download_checkpoint(url, sha256(data)).read_bytes() == data


def test_file_url_and_explicit_cache_dir(cache, checkpoint_bytes, sha256,
                                         tmp_path):
    data = checkpoint_bytes(1)
    source = tmp_path / 'source dir' / 'ckpt.pth'
    source.parent.mkdir()
    source.write_bytes(data)
    path = download_checkpoint(source.as_uri(), sha256(data),
                               cache_dir=tmp_path / 'dest')
    assert path == tmp_path / 'dest' / 'ckpt.pth'
    assert path.read_bytes() == data and not cache.exists()
    assert [p.name for p in path.parent.iterdir()] == ['ckpt.pth']


def test_corrupt_cached_file_is_downloaded_again(server, cache,
                                                 checkpoint_bytes, sha256):
    data = checkpoint_bytes(1)
    server.files['/ckpt.pth'] = data
    cache.mkdir()
    (cache / 'ckpt.pth').write_bytes(b'corrupt')
    with pytest.warns(UserWarning, match='is corrupt'):
        path = download_checkpoint(server.url('/ckpt.pth'), sha256(data))
    assert path.read_bytes() == data


def test_load_refuses_pickled_objects(cache, tmp_path):
    path = tmp_path / 'unsafe.pth'
    torch.save({'state_dict': {}, 'meta': {'obj': urllib.parse.ParseResult(
        'a', 'b', 'c', 'd', 'e', 'f')}}, path)
    with pytest.raises(Exception, match='weights_only'):
        load_checkpoint(path)


@pytest.mark.parametrize('url, message', [
    ('ftp://host/x.pth', "scheme must be one of"),
    ('http://host/', 'names no file'),
])
def test_unusable_urls(url, message):
    with pytest.raises(ValueError, match=message):
        download_checkpoint(url, sha256=None)


def test_bad_expected_hash_is_rejected(server):
    with pytest.raises(ValueError, match='64 hex digits'):
        download_checkpoint(server.url('/x.pth'), sha256='abc')
    assert server.requests == []


def test_no_hash_at_all_warns(server, cache, checkpoint_bytes):
    server.files['/plain.pth'] = checkpoint_bytes(1)
    with pytest.warns(UserWarning, match='cannot be verified'):
        assert os.path.isfile(download_checkpoint(server.url('/plain.pth')))


def test_partial_file_longer_than_the_file_starts_over(
        server, cache, checkpoint_bytes, sha256):
    data = checkpoint_bytes(1)
    server.files['/ckpt.pth'] = data
    (cache / '.partial').mkdir(parents=True)
    (cache / '.partial' / 'ckpt.pth').write_bytes(b'x' * (len(data) + 10))
    path = download_checkpoint(server.url('/ckpt.pth'), sha256(data))
    assert path.read_bytes() == data
    assert server.requests == [('/ckpt.pth', f'bytes={len(data) + 10}-'),
                               ('/ckpt.pth', None)]
    assert _cache_files(cache) == ['ckpt.pth']


def test_proxy_variables_are_read_at_each_download(server, checkpoint_bytes,
                                                   sha256, closed_port,
                                                   monkeypatch):
    data = checkpoint_bytes(5)
    server.files['/proxied.pth'] = data
    monkeypatch.delenv('no_proxy', raising=False)
    monkeypatch.delenv('NO_PROXY', raising=False)
    monkeypatch.setenv('http_proxy', f'http://127.0.0.1:{closed_port}')
    with pytest.raises(DownloadError):
        download_checkpoint(server.url('/proxied.pth'), sha256(data),
                            retries=0)
    monkeypatch.delenv('http_proxy')
    path = download_checkpoint(server.url('/proxied.pth'), sha256(data))
    assert path.read_bytes() == data
