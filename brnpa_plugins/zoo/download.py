"""Verified checkpoint downloads into a local cache, with the standard library.

Layout: the cache (``$BRNPA_CACHE_DIR``, default
~/.cache/brnpa_plugins/checkpoints) keeps each URL in a folder of its own,
``<cache>/<key>/<file name>``, where ``<key>`` is the first 16 hex digits of
the SHA-256 of the URL, so two URLs with the same file name never share a
file. A directory passed as ``cache_dir`` holds the files under their own
names instead, ``<dir>/<file name>``, as torch.hub's ``model_dir`` does.

Guarantees:

- the cache never holds a partial or unverified checkpoint: a download goes
  to ``.partial/<key>-<file name>`` and is renamed into place only once it
  has the published SHA-256 and the hash prefix of its name, or, when there
  is no hash to check, once the server has confirmed its complete length;
  a cached file is verified again each time it is taken from the cache;
- one process at a time downloads a given file: it holds an exclusive
  ``fcntl.flock`` lock on ``.locks/<key>-<file name>.lock`` (removed again
  afterwards); the others wait, then take the file from the cache. Where
  there is no ``fcntl`` (Windows) there is no lock: each process downloads
  into a partial file of its own, so concurrent downloads repeat the work
  but never mix, and an interrupted download is not resumed by a later call;
- an interrupted HTTP download resumes from the partial file with a
  ``Range`` request, in the same call (retries) or in the next one, also in
  another process once the one that was downloading has died (its lock
  dies with it); a live process's partial file is never taken over;
- every file is placed with :func:`inside`: a URL's file name that could
  leave its folder (empty, ``.``, ``..``, hidden) is refused before any
  request, and each path written is checked to lie in its folder.

``.partial`` and ``.locks`` are folders of the cache (or of ``cache_dir``),
removed when empty.
"""
import contextlib
import errno
import hashlib
import http.client
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings
from pathlib import Path
from typing import Iterator, Optional, Union

try:
    import fcntl
except ImportError:  # Windows: no lock, see the module docstring
    fcntl = None

#: Overrides the cache directory (default ~/.cache/brnpa_plugins/checkpoints).
CACHE_ENV = 'BRNPA_CACHE_DIR'
#: A base URL (``https://host/folder`` or ``file:///folder``) holding the
#: checkpoint files under their own names; replaces the host of every
#: http(s) download.
MIRROR_ENV = 'BRNPA_MIRROR'
DEFAULT_CACHE_DIR = Path('~/.cache/brnpa_plugins/checkpoints')
SCHEMES = ('http', 'https', 'file')
_CHUNK = 1 << 20
# OpenMMLab and torchvision name checkpoints '<name>-<first 8+ hex of the
# SHA-256>.pth'.
_HASH_IN_NAME = re.compile(r'-([0-9a-f]{8,64})\.[A-Za-z0-9.]+$')
_SHA256 = re.compile(r'^[0-9a-f]{64}$')
# Network failures worth another attempt; HTTP 4xx errors are not.
_TRANSIENT = (urllib.error.URLError, http.client.HTTPException,
              ConnectionError, TimeoutError)
_RETRY_STATUS = (408, 425, 429)
# File-system errors that mean the cache cannot be written.
_NOT_WRITABLE = (errno.EACCES, errno.EPERM, errno.EROFS)


class DownloadError(RuntimeError):
    """A checkpoint could not be downloaded; the message says how to fix it."""


class ChecksumError(DownloadError):
    """A downloaded file does not have the published SHA-256."""


class UnsafeNameError(DownloadError, ValueError):
    """A file name that would not lie directly in its folder: empty, ``.``,
    ``..``, a path, or a hidden name (``.partial`` and ``.locks`` are the
    cache's own folders)."""


class _IncompleteDownload(ConnectionError):
    """The server sent less than the whole file, or not the part asked for."""


def default_cache_dir() -> Path:
    """``$BRNPA_CACHE_DIR`` or ~/.cache/brnpa_plugins/checkpoints."""
    return Path(os.environ.get(CACHE_ENV) or DEFAULT_CACHE_DIR).expanduser()


def sha256_of(path: Union[str, os.PathLike]) -> str:
    """Hex SHA-256 of a file's contents."""
    digest = hashlib.sha256()
    with open(path, 'rb') as file:
        for block in iter(lambda: file.read(_CHUNK), b''):
            digest.update(block)
    return digest.hexdigest()


def hash_prefix_in_name(filename: str) -> Optional[str]:
    """The hash prefix of a '<name>-<hex>.pth' file name, or None."""
    match = _HASH_IN_NAME.search(filename)
    return match.group(1) if match else None


def check_sha256(value: Optional[str], what: str) -> Optional[str]:
    """Normalise a full hex SHA-256 (or None); ValueError names ``what``."""
    if value is None:
        return None
    digest = str(value).strip().lower()
    if not _SHA256.match(digest):
        raise ValueError(f'{what}: SHA-256 must be 64 hex digits, got '
                         f'{value!r}; compute it with `sha256sum FILE`.')
    return digest


def url_file_name(url: str) -> str:
    """The file name a URL downloads to.

    Raises:
        ValueError: the scheme is not one of :data:`SCHEMES`.
        UnsafeNameError: the URL's last segment is no usable file name
            (empty, ``.``, ``..``, hidden, or with a NUL, a backslash or a
            control character), checked before anything is downloaded.
    """
    parts = urllib.parse.urlparse(url)
    if parts.scheme not in SCHEMES:
        raise ValueError(f'Cannot download {url!r}: the scheme must be one of '
                         f'{SCHEMES}, got {parts.scheme!r}.')
    name = os.path.basename(urllib.parse.unquote(parts.path))
    if not name or name.startswith('.') or '\\' in name or \
            not name.isprintable():
        raise UnsafeNameError(
            f'Cannot download {url!r}: it names no usable file (its last '
            f'segment is {name!r}). Use the URL of the checkpoint file '
            'itself, ending in a file name such as model-1a2b3c4d.pth.')
    return name


def inside(folder: Union[str, os.PathLike], name: str) -> Path:
    """``folder / name``, once checked to lie directly in ``folder``.

    Every file the zoo writes is placed with this. Names are checked where
    they are made (:func:`url_file_name`, ``ZooEntry``); this check of the
    resolved path is the last line of defence.

    Args:
        folder (str | PathLike): The destination folder.
        name (str): The file name.

    Raises:
        UnsafeNameError: ``name`` is a path, or leads out of ``folder``.
    """
    base = Path(folder).resolve()
    placed = Path(os.path.normpath(base / name))
    if placed.parent != base or placed.name != name:
        raise UnsafeNameError(
            f'Refusing to write {name!r} into {folder}: it would land '
            f'outside that folder ({placed}). A file name must be one name, '
            'without folders; fix the zoo entry or URL that gave it.')
    return Path(folder) / name


def url_key(url: str) -> str:
    """The cache folder of a URL: the first 16 hex of its SHA-256."""
    return hashlib.sha256(url.encode()).hexdigest()[:16]


def mirrored(url: str) -> str:
    """``url`` served from ``$BRNPA_MIRROR`` when that is set (http(s) only)."""
    mirror = os.environ.get(MIRROR_ENV, '').strip()
    if not mirror or urllib.parse.urlparse(url).scheme == 'file':
        return url
    return f"{mirror.rstrip('/')}/{urllib.parse.quote(url_file_name(url))}"


def _mismatch(path: Path, sha256: Optional[str],
              prefix: Optional[str]) -> Optional[str]:
    if sha256 is None and prefix is None:
        return None
    actual = sha256_of(path)
    if sha256 is not None and actual != sha256:
        return f'expected SHA-256 {sha256}, got {actual}'
    if prefix is not None and not actual.startswith(prefix):
        return (f'the file name promises a SHA-256 starting with {prefix}, '
                f'got {actual}')
    return None


def _cached(target: Path, sha256: Optional[str], prefix: Optional[str],
            remove_corrupt: bool) -> bool:
    """Whether ``target`` is there and verifies; a corrupt one is removed
    (with a warning) when ``remove_corrupt``."""
    if not target.is_file():
        return False
    problem = _mismatch(target, sha256, prefix)
    if problem is not None and remove_corrupt:
        warnings.warn(f'Cached {target} is corrupt ({problem}); '
                      'downloading it again.')
        target.unlink()
    return problem is None


def _remove(path: Path) -> None:
    """Delete ``path`` if it is there, and its folder if that is now empty."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    with contextlib.suppress(OSError):
        path.parent.rmdir()


@contextlib.contextmanager
def _exclusive(lock: Path) -> Iterator[None]:
    """Hold an exclusive inter-process lock on the file ``lock``.

    The holder deletes the file before it lets go, so that no lock files
    pile up; a process that was waiting on the deleted file then sees that
    its file is no longer ``lock`` and tries again. Without ``fcntl`` this
    locks nothing (see the module docstring).
    """
    if fcntl is None:
        yield
        return
    while True:
        lock.parent.mkdir(parents=True, exist_ok=True)
        try:
            handle = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        except FileNotFoundError:  # the folder was removed meanwhile
            continue
        try:
            fcntl.flock(handle, fcntl.LOCK_EX)
            held = os.path.samestat(os.fstat(handle), os.stat(lock))
        except FileNotFoundError:
            held = False
        except BaseException:
            os.close(handle)
            raise
        if held:
            break
        os.close(handle)
    try:
        yield
    finally:
        _remove(lock)
        os.close(handle)


class _HttpRedirectsOnly(urllib.request.HTTPRedirectHandler):
    """Follows redirects to http(s) URLs only (urllib also follows ftp)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if urllib.parse.urlparse(newurl).scheme not in ('http', 'https'):
            raise urllib.error.HTTPError(
                newurl, code, f'redirect to {newurl} refused: only http(s) '
                'redirects are followed', headers, fp)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _progress_bar(total: Optional[int], initial: int, name: str,
                  progress: Optional[bool]):
    from tqdm import tqdm
    show = sys.stderr.isatty() if progress is None else progress
    return tqdm(total=total, initial=initial, desc=name, unit='B',
                unit_scale=True, unit_divisor=1024, file=sys.stderr,
                disable=not show, leave=False)


def _open(url: str, offset: int, timeout: float):
    request = urllib.request.Request(url)
    if offset:
        request.add_header('Range', f'bytes={offset}-')
    # A new opener for every request reads the proxy variables as they are
    # now; urlopen's global opener keeps those of its first use forever.
    opener = urllib.request.build_opener(_HttpRedirectsOnly)
    return opener.open(request, timeout=timeout)


def _range_total(response, offset: int) -> Optional[int]:
    """The file's length if a 206 response continues it at ``offset``
    (``Content-Range: bytes <offset>-<length - 1>/<length>``), else None."""
    content_range = response.headers.get('Content-Range', '').strip()
    match = re.fullmatch(r'bytes (\d+)-(\d+)/(\d+)', content_range)
    if match is None:
        return None
    first, last, length = map(int, match.groups())
    return length if first == offset and last == length - 1 else None


def _fetch_once(url: str, partial: Path, name: str, timeout: float,
                progress: Optional[bool]) -> bool:
    """Download ``url`` into ``partial``, continuing what is already there.

    Returns:
        bool: whether the server confirmed that the file is complete (by
        its Content-Length, or the Content-Range of a resumed download).

    Raises:
        _IncompleteDownload: less than the announced length came, or a 206
            response did not continue the partial file (which is deleted).
    """
    offset = 0
    if partial.exists() and not url.startswith('file:'):
        offset = partial.stat().st_size
    try:
        response = _open(url, offset, timeout)
    except urllib.error.HTTPError as error:
        if error.code != 416 or not offset:
            raise
        error.close()
        # The partial file is not a prefix of what the server has now.
        partial.unlink()
        offset = 0
        response = _open(url, offset, timeout)
    with response:
        length = response.headers.get('Content-Length', '').strip()
        total = int(length) if length.isdigit() else None
        if getattr(response, 'status', None) == 206:
            total = _range_total(response, offset)
            if total is None and offset:
                partial.unlink()
                raise _IncompleteDownload(
                    f'the server answered the request for bytes {offset}- '
                    'with a 206 response whose Content-Range ('
                    f"{response.headers.get('Content-Range')!r}) does not "
                    'continue the partial file; starting over')
        else:
            offset = 0  # the whole file came: start it over
        with open(partial, 'ab' if offset else 'wb') as out, \
                _progress_bar(total, offset, name, progress) as bar:
            for block in iter(lambda: response.read(_CHUNK), b''):
                out.write(block)
                bar.update(len(block))
            received = out.tell()
    if total is not None and received < total:
        raise _IncompleteDownload(
            f'connection closed after {received} of {total} bytes')
    return received == total


def _http_error_message(url: str, error: urllib.error.HTTPError,
                        attempts: int, target: Path) -> str:
    reason = ' '.join(str(error.reason).split())
    if 300 <= error.code < 400:
        hint = ('Its redirects do not lead to the file (at most 10 are '
                'followed, to http(s) URLs only): check the URL or use a '
                'direct link to the file')
    elif error.code >= 500 or error.code in _RETRY_STATUS:
        hint = (f'The server kept failing ({attempts} attempt(s)): try '
                'again later')
    else:
        hint = 'Check the URL'
    return (f'Downloading {url} failed: HTTP {error.code} {reason}. {hint}; '
            f'if the file is on a mirror, set {MIRROR_ENV} to its base URL '
            f'(a folder holding {target.name}); or download it by hand and '
            f'copy it to {target}.')


def _unreachable_message(url: str, error: BaseException, attempts: int,
                         target: Path) -> str:
    reason = getattr(error, 'reason', None) or error
    return (f'Could not download {url} after {attempts} attempt(s): '
            f'{reason}. If this machine is offline, download the file on one '
            'with access (`brnpa zoo download NAME --dest DIR`) and copy it '
            f'to {target}, or set {MIRROR_ENV} to a reachable mirror (an '
            f'http(s) or file:// folder holding {target.name}).')


def _fetch(url: str, partial: Path, target: Path, retries: int,
           backoff: float, timeout: float, progress: Optional[bool]) -> bool:
    """:func:`_fetch_once` with retries; True when the length is confirmed.

    Raises:
        DownloadError: an HTTP error, a redirect that leads nowhere, or the
            host stayed unreachable.
    """
    attempts = 1 if url.startswith('file:') else retries + 1
    for attempt in range(attempts):
        try:
            return _fetch_once(url, partial, target.name, timeout, progress)
        except urllib.error.HTTPError as error:
            error.close()
            if error.code < 500 and error.code not in _RETRY_STATUS:
                raise DownloadError(_http_error_message(
                    url, error, attempt + 1, target)) from None
            last_error: BaseException = error
        except _TRANSIENT as error:
            last_error = error
        if attempt + 1 < attempts:
            time.sleep(backoff * 2**attempt)
    if isinstance(last_error, urllib.error.HTTPError):
        raise DownloadError(
            _http_error_message(url, last_error, attempts, target))
    raise DownloadError(
        _unreachable_message(url, last_error, attempts, target))


def _download(url: str, target: Path, partial: Path, sha256: Optional[str],
              prefix: Optional[str], **fetch_options) -> None:
    """Fetch ``url`` (or its mirror) into ``partial``, verify it and rename
    it to ``target``; see :func:`download_checkpoint`."""
    if sha256 is None and prefix is None:
        warnings.warn(f'{url} has no published SHA-256 and no hash in its '
                      'file name, so its contents cannot be verified.')
    partial.parent.mkdir(parents=True, exist_ok=True)
    source = mirrored(url)
    via = f' (fetched from {source})' if source != url else ''
    confirmed = _fetch(source, partial, target, **fetch_options)
    problem = _mismatch(partial, sha256, prefix)
    if problem is not None:
        partial.unlink()
        cut = '' if confirmed else (
            ' The server did not confirm the length of the file, so the '
            'download may have been cut short: try again.')
        raise ChecksumError(
            f'Downloaded {url}{via} but it is not the published checkpoint: '
            f'{problem}. The file was deleted; nothing was cached.{cut} If '
            f'{MIRROR_ENV} is set, check that the mirror holds the right '
            'file; otherwise the checkpoint on the server has changed.')
    if not confirmed and sha256 is None and prefix is None:
        partial.unlink()
        raise DownloadError(
            f'Downloaded {url}{via} but the server did not confirm that the '
            'whole file came (no Content-Length, or a partial response '
            'without a matching Content-Range), and there is no SHA-256 to '
            'check it against; nothing was cached. Publish its SHA-256 '
            '(`Metadata: SHA256` in the zoo metafile), pass sha256= to '
            'download_checkpoint, or name the file '
            '<name>-<first 8 hex of its SHA-256>.pth.')
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(partial, target)


def download_checkpoint(url: str,
                        sha256: Optional[str] = None,
                        cache_dir: Union[str, os.PathLike, None] = None,
                        *,
                        progress: Optional[bool] = None,
                        retries: int = 3,
                        backoff: float = 1.0,
                        timeout: float = 60.0) -> Path:
    """Download a checkpoint into the cache (once) and verify its SHA-256.

    The file is checked against ``sha256`` and against the hash prefix of
    its name ('<name>-<first 8 hex>.pth'), before it enters the cache and
    again each time it is taken from the cache. With neither, the file
    enters the cache only if the server confirmed its complete length.
    Processes downloading the same file wait for each other (see the module
    docstring).

    Args:
        url (str): http, https or file URL. With ``$BRNPA_MIRROR`` set,
            http(s) files are fetched from the mirror instead.
        sha256 (str | None): Full hex SHA-256 the file must have.
        cache_dir (str | PathLike | None): A directory to keep the file in,
            under its own name. Defaults to the cache,
            :func:`default_cache_dir`, where each URL has its own folder.
        progress (bool | None): Show a progress bar on stderr; None shows
            it when stderr is a terminal.
        retries (int): Further attempts after a network failure or an HTTP
            5xx, each after ``backoff * 2**attempt`` seconds, resuming the
            partial file.
        backoff (float): Seconds before the first retry.
        timeout (float): Seconds to wait for the server on each read.

    Returns:
        Path: the verified file in the cache.

    Raises:
        DownloadError: HTTP error, a redirect that leads nowhere, the host
            stayed unreachable, an unverifiable file of unconfirmed length,
            or a cache that cannot be written.
        ChecksumError: the file has another hash; nothing is cached.
        UnsafeNameError: the URL names no usable file; nothing is
            downloaded.
    """
    if not isinstance(retries, int) or retries < 0:
        raise ValueError(f'retries must be an integer >= 0, got {retries!r}')
    if backoff < 0 or timeout <= 0:
        raise ValueError('backoff must be >= 0 and timeout > 0, got '
                         f'backoff={backoff!r}, timeout={timeout!r}')
    name = url_file_name(url)
    sha256 = check_sha256(sha256, url)
    prefix = hash_prefix_in_name(name)
    if sha256 is not None and prefix is not None and \
            not sha256.startswith(prefix):
        raise ValueError(
            f'{url}: the file name promises a SHA-256 starting with {prefix} '
            f'but the expected SHA-256 is {sha256}; fix the metafile entry.')
    key = url_key(url)
    if cache_dir:
        cache = Path(cache_dir).expanduser()
        target = inside(cache, name)
    else:
        cache = default_cache_dir()
        target = inside(cache / key, name)
    slot = f'{key}-{name}'
    # Without a lock, each process needs a partial file of its own.
    partial = inside(cache / '.partial', slot if fcntl else
                     f'{slot}.{os.getpid()}')
    lock = inside(cache / '.locks', f'{slot}.lock')
    try:
        # A verified file needs no lock: read-only caches work too.
        if _cached(target, sha256, prefix, remove_corrupt=False):
            return target
        with _exclusive(lock):
            # Another process may have downloaded it while this one waited.
            if not _cached(target, sha256, prefix, remove_corrupt=True):
                try:
                    _download(url, target, partial, sha256, prefix,
                              retries=retries, backoff=backoff,
                              timeout=timeout, progress=progress)
                finally:
                    if fcntl is None:  # no later call could resume it
                        with contextlib.suppress(FileNotFoundError):
                            partial.unlink()
                    with contextlib.suppress(OSError):  # unless others are
                        partial.parent.rmdir()  # under way or to resume
    except OSError as error:
        if error.errno not in _NOT_WRITABLE:
            raise
        raise DownloadError(
            f'Cannot keep checkpoints in {cache}: {error}. Set {CACHE_ENV} '
            'to a writable directory (or pass another cache_dir, `--dest '
            'DIR` on the command line).') from None
    return target
