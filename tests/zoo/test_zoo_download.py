import hashlib
import os
import signal
import subprocess
import sys
import time
import urllib.parse
import warnings

import pytest
import torch

import brnpa_plugins.zoo.download as download_module
from brnpa_plugins.zoo import (CACHE_ENV, MIRROR_ENV, ChecksumError,
                               DownloadError, default_cache_dir,
                               download_checkpoint, load_checkpoint)


def _cache_files(cache):
    """Every file in the cache, including unfinished downloads."""
    return sorted(str(p.relative_to(cache)) for p in cache.rglob('*')
                  if p.is_file())


def _key(url):
    """The documented cache folder of a URL."""
    return hashlib.sha256(url.encode()).hexdigest()[:16]


def _in_cache(cache, url):
    """Where the cache keeps ``url``: ``<cache>/<key>/<file name>``."""
    return cache / _key(url) / url.rsplit('/', 1)[1]


def test_cache_dir_comes_from_the_environment(cache):
    assert default_cache_dir() == cache


def test_good_download_is_cached_and_loads_weights_only(
        server, cache, checkpoint_bytes, sha256):
    data = checkpoint_bytes(1)
    server.files['/ckpt.pth'] = data
    url = server.url('/ckpt.pth')
    path = download_checkpoint(url, sha256(data))
    assert path == _in_cache(cache, url) and path.read_bytes() == data
    assert _cache_files(cache) == [f'{_key(url)}/ckpt.pth']
    assert sorted(p.name for p in cache.iterdir()) == [_key(url)]
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
    assert _cache_files(cache) == [f'{_key(server.url("/ckpt.pth"))}/ckpt.pth']


def test_interrupted_download_resumes_on_the_next_call(
        server, cache, checkpoint_bytes, sha256):
    data = checkpoint_bytes(1)
    server.files['/ckpt.pth'] = data
    server.cut_after['/ckpt.pth'] = 1000
    slot = f'{_key(server.url("/ckpt.pth"))}-ckpt.pth'
    with pytest.raises(DownloadError, match='after 1 attempt'):
        download_checkpoint(server.url('/ckpt.pth'), sha256(data), retries=0)
    assert _cache_files(cache) == [f'.partial/{slot}']
    assert (cache / '.partial' / slot).stat().st_size == 1000
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
    assert MIRROR_ENV in message and str(_in_cache(cache, url)) in message
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
    target = _in_cache(cache, server.url('/ckpt.pth'))
    target.parent.mkdir(parents=True)
    target.write_bytes(b'corrupt')
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
    ('http://host/', 'names no usable file'),
])
def test_unusable_urls(url, message):
    with pytest.raises(ValueError, match=message):
        download_checkpoint(url, sha256=None)


@pytest.mark.parametrize('path', ['/files/..', '/files/.', '/files/',
                                  '/files/%2e%2e', '/files/.partial',
                                  '/files/a%2F..', '/files/nul%00.pth'])
@pytest.mark.parametrize('into', ['cache', 'dest'])
def test_urls_naming_no_usable_file_are_refused_before_downloading(
        server, cache, tmp_path, path, into):
    server.files[path] = b'x' * (1 << 20)
    url = server.url(path)
    dest = tmp_path / 'dest' if into == 'dest' else None
    with pytest.raises(DownloadError, match='names no usable file') as error:
        download_checkpoint(url, 'ab' * 32, cache_dir=dest)
    assert url in str(error.value)
    assert isinstance(error.value, ValueError)  # as other unusable URLs
    assert server.requests == []
    assert not cache.exists() and not (tmp_path / 'dest').exists()


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
    url = server.url('/ckpt.pth')
    (cache / '.partial').mkdir(parents=True)
    (cache / '.partial' / f'{_key(url)}-ckpt.pth').write_bytes(
        b'x' * (len(data) + 10))
    path = download_checkpoint(url, sha256(data))
    assert path.read_bytes() == data
    assert server.requests == [('/ckpt.pth', f'bytes={len(data) + 10}-'),
                               ('/ckpt.pth', None)]
    assert _cache_files(cache) == [f'{_key(url)}/ckpt.pth']


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


# Downloads one URL in a process of its own once told to go on stdin; prints
# the path. 'no-fcntl' runs it as on a platform without fcntl. download.py
# needs only the standard library: loading it by itself spares each process
# the seconds that importing torch (through brnpa_plugins) takes.
_CHILD = """
import importlib.util
import sys
module, url, sha256, locking = sys.argv[1:]
spec = importlib.util.spec_from_file_location('download', module)
download = importlib.util.module_from_spec(spec)
spec.loader.exec_module(download)
if locking == 'no-fcntl':
    download.fcntl = None
print('ready', flush=True)
sys.stdin.readline()
print(download.download_checkpoint(url, sha256, progress=False))
"""


@pytest.mark.parametrize('locking', ['fcntl', 'no-fcntl'])
def test_concurrent_processes_get_one_verified_file(
        server, cache, checkpoint_bytes, sha256, locking):
    if locking == 'fcntl' and download_module.fcntl is None:
        pytest.skip('this platform has no fcntl')
    data = checkpoint_bytes(11, size=720)  # about 2 MB
    server.files['/big.pth'] = data
    server.throttle = 0.04  # about 1.3 s a download: the four overlap
    url = server.url('/big.pth')
    children = [subprocess.Popen(
        [sys.executable, '-c', _CHILD, download_module.__file__, url,
         sha256(data), locking],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True) for _ in range(4)]
    try:
        for child in children:
            assert child.stdout.readline() == 'ready\n', \
                child.communicate(timeout=60)
        for child in children:
            child.stdin.write('go\n')
            child.stdin.flush()
        outcomes = [(child.wait(timeout=120), child.stdout.read(),
                     child.stderr.read()) for child in children]
    finally:
        for child in children:
            child.kill()
            child.communicate()
    target = _in_cache(cache, url)
    assert outcomes == [(0, f'{target}\n', '')] * 4
    assert sha256(target.read_bytes()) == sha256(data)
    assert sorted(str(p.relative_to(cache)) for p in cache.rglob('*')) == \
        [_key(url), f'{_key(url)}/big.pth']
    # With the lock one process downloads and the others take its file.
    assert len(server.requests) == (1 if locking == 'fcntl' else 4)


@pytest.mark.parametrize('honour_range', [True, False])
def test_download_of_a_killed_process_is_resumed_by_the_next(
        server, cache, sha256, honour_range):
    if download_module.fcntl is None:
        pytest.skip('without fcntl a download is not resumed (documented)')
    data = os.urandom(3 << 20)
    server.files['/big.pth'] = data
    server.throttle = 0.05  # 64 KiB each 0.05 s: about 2.4 s for the file
    url = server.url('/big.pth')
    partial = cache / '.partial' / f'{_key(url)}-big.pth'
    child = subprocess.Popen(
        [sys.executable, '-c', _CHILD, download_module.__file__, url,
         sha256(data), 'fcntl'],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline() == 'ready\n', child.communicate()
        child.stdin.write('go\n')
        child.stdin.flush()
        deadline = time.monotonic() + 60
        while not partial.is_file() or partial.stat().st_size < 1 << 20:
            assert child.poll() is None and time.monotonic() < deadline, \
                child.communicate()
            time.sleep(0.01)
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=60) == -signal.SIGKILL
    finally:
        child.kill()
        child.communicate()
    kept = partial.stat().st_size
    assert 1 << 20 <= kept < len(data)
    server.throttle, server.honour_range = 0.0, honour_range
    path = download_checkpoint(url, sha256(data))
    assert sha256(path.read_bytes()) == sha256(data)
    assert server.requests == [('/big.pth', None),
                               ('/big.pth', f'bytes={kept}-')]
    assert _cache_files(cache) == [f'{_key(url)}/big.pth']


def test_without_fcntl_a_failed_download_leaves_no_partial_file(
        server, cache, checkpoint_bytes, sha256, monkeypatch):
    monkeypatch.setattr(download_module, 'fcntl', None)
    data = checkpoint_bytes(1)
    server.files['/ckpt.pth'] = data
    server.cut_after['/ckpt.pth'] = 1000
    url = server.url('/ckpt.pth')
    with pytest.raises(DownloadError, match='after 1 attempt'):
        download_checkpoint(url, sha256(data), retries=0)
    assert list(cache.rglob('*')) == []
    assert download_checkpoint(url, sha256(data)).read_bytes() == data
    assert server.requests[-1] == ('/ckpt.pth', None)


@pytest.mark.parametrize('published', [True, False])
def test_urls_with_the_same_file_name_are_cached_apart(
        server, cache, checkpoint_bytes, sha256, published):
    first, second = checkpoint_bytes(1), checkpoint_bytes(2)
    server.files['/a/latest.pth'] = first
    server.files['/b/v2/latest.pth'] = second

    def get(path, data):
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')  # 'cannot be verified'
            return download_checkpoint(server.url(path),
                                       sha256(data) if published else None)

    paths = [get('/a/latest.pth', first), get('/b/v2/latest.pth', second),
             get('/a/latest.pth', first)]
    assert paths[0] == paths[2] != paths[1]
    assert [p.read_bytes() for p in paths] == [first, second, first]
    assert paths[1] == _in_cache(cache, server.url('/b/v2/latest.pth'))
    assert len(server.requests) == 2


def test_body_of_unconfirmed_length_without_hash_is_not_cached(
        server, cache, checkpoint_bytes):
    server.files['/plain.pth'] = checkpoint_bytes(1)
    server.content_length = False
    server.cut_after['/plain.pth'] = 1000
    url = server.url('/plain.pth')
    for _ in range(2):  # cut short, then whole: neither can be confirmed
        with pytest.warns(UserWarning, match='cannot be verified'), \
                pytest.raises(DownloadError) as error:
            download_checkpoint(url)
        message = str(error.value)
        assert f'Downloaded {url} but the server did not confirm' in message
        assert 'Content-Length' in message and 'sha256=' in message
        assert list(cache.rglob('*')) == []
    assert len(server.requests) == 2


def test_body_of_unconfirmed_length_is_judged_by_its_hash(
        server, cache, checkpoint_bytes, sha256):
    data = checkpoint_bytes(1)
    server.files['/ckpt.pth'] = data
    server.content_length = False
    server.cut_after['/ckpt.pth'] = 1000
    url = server.url('/ckpt.pth')
    with pytest.raises(ChecksumError, match='may have been cut short'):
        download_checkpoint(url, sha256(data))
    assert _cache_files(cache) == []
    assert download_checkpoint(url, sha256(data)).read_bytes() == data


@pytest.mark.parametrize('content_range', ['', 'bytes 0-999/1000'])
def test_206_that_does_not_continue_the_partial_file_starts_over(
        server, cache, checkpoint_bytes, content_range):
    data = checkpoint_bytes(1)
    server.files['/plain.pth'] = data
    server.cut_after['/plain.pth'] = 1000
    url = server.url('/plain.pth')
    with pytest.warns(UserWarning, match='cannot be verified'), \
            pytest.raises(DownloadError, match='after 1 attempt'):
        download_checkpoint(url, retries=0)
    server.content_range = content_range
    with pytest.warns(UserWarning, match='cannot be verified'):
        path = download_checkpoint(url, backoff=0)
    assert path.read_bytes() == data
    assert server.requests[1:] == [('/plain.pth', 'bytes=1000-'),
                                   ('/plain.pth', None)]


def test_416_on_the_first_request_is_a_clear_error(server, cache,
                                                   checkpoint_bytes):
    server.files['/ckpt-0123abcd.pth'] = checkpoint_bytes(1)
    server.fail_first['/ckpt-0123abcd.pth'] = [416]
    url = server.url('/ckpt-0123abcd.pth')
    with pytest.raises(DownloadError) as error:
        download_checkpoint(url, backoff=0)
    message = str(error.value)
    assert f'Downloading {url} failed: HTTP 416' in message
    assert str(_in_cache(cache, url)) in message and MIRROR_ENV in message
    assert len(server.requests) == 1 and list(cache.rglob('*')) == []


def test_server_error_after_the_retries_is_a_clear_error(server, cache):
    server.fail_first['/ckpt-0123abcd.pth'] = [500] * 3
    url = server.url('/ckpt-0123abcd.pth')
    with pytest.raises(DownloadError) as error:
        download_checkpoint(url, retries=2, backoff=0)
    message = str(error.value)
    assert f'Downloading {url} failed: HTTP 500' in message
    assert '3 attempt(s)' in message and 'try again later' in message
    assert str(_in_cache(cache, url)) in message and MIRROR_ENV in message
    assert len(server.requests) == 3 and list(cache.rglob('*')) == []


def test_redirects_are_followed_also_when_resuming(server, cache,
                                                   checkpoint_bytes, sha256):
    data = checkpoint_bytes(1)
    server.files['/files/ckpt.pth'] = data
    server.redirects['/latest/ckpt.pth'] = '/files/ckpt.pth'
    server.cut_after['/files/ckpt.pth'] = 1000
    url = server.url('/latest/ckpt.pth')
    path = download_checkpoint(url, sha256(data), backoff=0)
    assert path == _in_cache(cache, url) and path.read_bytes() == data
    assert server.requests == [
        ('/latest/ckpt.pth', None), ('/files/ckpt.pth', None),
        ('/latest/ckpt.pth', 'bytes=1000-'),
        ('/files/ckpt.pth', 'bytes=1000-')]


@pytest.mark.parametrize('location, problem', [
    ('/loop/b.pth', 'infinite loop'),
    ('ftp://127.0.0.1/a.pth', 'only http(s) redirects are followed'),
    ('file:///etc/hostname', 'is not allowed'),
])
def test_redirect_that_leads_nowhere_is_a_clear_error(server, cache,
                                                      location, problem):
    server.redirects['/loop/a.pth'] = location
    server.redirects['/loop/b.pth'] = '/loop/a.pth'
    url = server.url('/loop/a.pth')
    with pytest.raises(DownloadError) as error:
        download_checkpoint(url, '0' * 64, backoff=0)
    message = str(error.value)
    assert f'Downloading {url} failed: HTTP 302' in message
    assert problem in message and 'direct link' in message
    assert str(_in_cache(cache, url)) in message
    assert list(cache.rglob('*')) == []


@pytest.mark.skipif(not hasattr(os, 'geteuid') or os.geteuid() == 0,
                    reason='needs POSIX permissions, which root ignores')
def test_read_only_cache_is_a_clear_error(server, cache, checkpoint_bytes,
                                          sha256):
    data = checkpoint_bytes(1)
    server.files['/a.pth'] = server.files['/b.pth'] = data
    cached = download_checkpoint(server.url('/a.pth'), sha256(data))
    cache.chmod(0o500)
    try:
        # A verified file is still served from a cache that is read-only.
        assert download_checkpoint(server.url('/a.pth'), sha256(data)) == \
            cached
        with pytest.raises(DownloadError) as error:
            download_checkpoint(server.url('/b.pth'), sha256(data))
    finally:
        cache.chmod(0o700)
    message = str(error.value)
    assert f'Cannot keep checkpoints in {cache}:' in message
    assert 'Permission denied' in message and CACHE_ENV in message
    assert len(server.requests) == 1
