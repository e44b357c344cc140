"""Verified checkpoint downloads into a local cache, with the standard library.

A download goes to ``<cache>/.partial/<file name>``, is checked against its
SHA-256 and only then renamed into ``<cache>/<file name>``: the cache never
holds a partial or corrupt checkpoint. An interrupted HTTP download resumes
from the partial file (a ``Range`` request) on the next attempt.
"""
import contextlib
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
from typing import Optional, Union

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


class DownloadError(RuntimeError):
    """A checkpoint could not be downloaded; the message says how to fix it."""


class ChecksumError(DownloadError):
    """A downloaded file does not have the published SHA-256."""


class _IncompleteDownload(ConnectionError):
    """The server closed the connection before sending the whole file."""


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
    """The file name a URL downloads to; ValueError for unusable URLs."""
    parts = urllib.parse.urlparse(url)
    if parts.scheme not in SCHEMES:
        raise ValueError(f'Cannot download {url!r}: the scheme must be one of '
                         f'{SCHEMES}, got {parts.scheme!r}.')
    name = os.path.basename(urllib.parse.unquote(parts.path))
    if not name:
        raise ValueError(f'Cannot download {url!r}: it names no file.')
    return name


def mirrored(url: str) -> str:
    """``url`` served from ``$BRNPA_MIRROR`` when that is set (http(s) only)."""
    mirror = os.environ.get(MIRROR_ENV, '').strip()
    if not mirror or urllib.parse.urlparse(url).scheme == 'file':
        return url
    return f"{mirror.rstrip('/')}/{urllib.parse.quote(url_file_name(url))}"


def _mismatch(path: Path, sha256: Optional[str],
              prefix: Optional[str]) -> Optional[str]:
    actual = sha256_of(path)
    if sha256 is not None and actual != sha256:
        return f'expected SHA-256 {sha256}, got {actual}'
    if prefix is not None and not actual.startswith(prefix):
        return (f'the file name promises a SHA-256 starting with {prefix}, '
                f'got {actual}')
    return None


def _progress_bar(total: Optional[int], initial: int, name: str,
                  progress: Optional[bool]):
    from tqdm import tqdm
    show = sys.stderr.isatty() if progress is None else progress
    return tqdm(total=total, initial=initial, desc=name, unit='B',
                unit_scale=True, unit_divisor=1024, file=sys.stderr,
                disable=not show, leave=False)


def _resume_offset(response, offset: int) -> int:
    """Where the response body starts in the file: 0 unless a range came."""
    if offset == 0 or getattr(response, 'status', None) != 206:
        return 0
    content_range = response.headers.get('Content-Range', '')
    match = re.match(r'bytes (\d+)-', content_range)
    return offset if match and int(match.group(1)) == offset else 0


def _fetch_once(url: str, partial: Path, timeout: float,
                progress: Optional[bool]) -> None:
    offset = partial.stat().st_size if partial.exists() else 0
    request = urllib.request.Request(url)
    if offset and not url.startswith('file:'):
        request.add_header('Range', f'bytes={offset}-')
    # A new opener for every request reads the proxy variables as they are
    # now; urlopen's global opener keeps those of its first use forever.
    opener = urllib.request.build_opener()
    try:
        response = opener.open(request, timeout=timeout)
    except urllib.error.HTTPError as error:
        if error.code != 416:
            raise
        # The partial file is not a prefix of what the server has now.
        partial.unlink()
        response = opener.open(url, timeout=timeout)
    with response:
        offset = _resume_offset(response, offset)
        length = response.headers.get('Content-Length')
        total = offset + int(length) if length is not None else None
        with open(partial, 'ab' if offset else 'wb') as out, \
                _progress_bar(total, offset, partial.name, progress) as bar:
            for block in iter(lambda: response.read(_CHUNK), b''):
                out.write(block)
                bar.update(len(block))
            received = out.tell()
    if total is not None and received < total:
        raise _IncompleteDownload(
            f'connection closed after {received} of {total} bytes')


def _http_error_message(url: str, error: urllib.error.HTTPError,
                        target: Path) -> str:
    return (f'Downloading {url} failed: HTTP {error.code} {error.reason}. '
            f'Check the URL; if the file is on a mirror, set {MIRROR_ENV} to '
            f'its base URL (a folder holding {target.name}); or download it '
            f'by hand and copy it to {target}.')


def _unreachable_message(url: str, error: BaseException, attempts: int,
                         target: Path) -> str:
    reason = getattr(error, 'reason', None) or error
    return (f'Could not download {url} after {attempts} attempt(s): '
            f'{reason}. If this machine is offline, download the file on one '
            'with access (`brnpa zoo download NAME --dest DIR`) and copy it '
            f'to {target}, or set {MIRROR_ENV} to a reachable mirror (an '
            f'http(s) or file:// folder holding {target.name}).')


def _fetch(url: str, partial: Path, target: Path, retries: int,
           backoff: float, timeout: float, progress: Optional[bool]) -> None:
    attempts = 1 if url.startswith('file:') else retries + 1
    for attempt in range(attempts):
        try:
            return _fetch_once(url, partial, timeout, progress)
        except urllib.error.HTTPError as error:
            if error.code < 500 and error.code not in _RETRY_STATUS:
                raise DownloadError(
                    _http_error_message(url, error, target)) from None
            last_error: BaseException = error
        except _TRANSIENT as error:
            last_error = error
        if attempt + 1 < attempts:
            time.sleep(backoff * 2**attempt)
    if isinstance(last_error, urllib.error.HTTPError):
        raise DownloadError(_http_error_message(url, last_error, target))
    raise DownloadError(
        _unreachable_message(url, last_error, attempts, target))


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
    again each time it is taken from the cache.

    Args:
        url (str): http, https or file URL. With ``$BRNPA_MIRROR`` set,
            http(s) files are fetched from the mirror instead.
        sha256 (str | None): Full hex SHA-256 the file must have.
        cache_dir (str | PathLike | None): Where checkpoints are kept.
            Defaults to :func:`default_cache_dir`.
        progress (bool | None): Show a progress bar on stderr; None shows
            it when stderr is a terminal.
        retries (int): Further attempts after a network failure, each after
            ``backoff * 2**attempt`` seconds, resuming the partial file.
        backoff (float): Seconds before the first retry.
        timeout (float): Seconds to wait for the server on each read.

    Returns:
        Path: the verified file in the cache.

    Raises:
        DownloadError: HTTP error, or the host stayed unreachable.
        ChecksumError: the file has another hash; nothing is cached.
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
    cache = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
    target = cache / name
    if target.is_file():
        problem = _mismatch(target, sha256, prefix)
        if problem is None:
            return target
        warnings.warn(f'Cached {target} is corrupt ({problem}); '
                      'downloading it again.')
        target.unlink()
    if sha256 is None and prefix is None:
        warnings.warn(f'{url} has no published SHA-256 and no hash in its '
                      'file name, so its contents cannot be verified.')
    partial = cache / '.partial' / name
    partial.parent.mkdir(parents=True, exist_ok=True)
    source = mirrored(url)
    _fetch(source, partial, target, retries, backoff, timeout, progress)
    problem = _mismatch(partial, sha256, prefix)
    if problem is not None:
        partial.unlink()
        via = f' (fetched from {source})' if source != url else ''
        raise ChecksumError(
            f'Downloaded {url}{via} but it is not the published checkpoint: '
            f'{problem}. The file was deleted; nothing was cached. If '
            f'{MIRROR_ENV} is set, check that the mirror holds the right '
            'file; otherwise the checkpoint on the server has changed.')
    os.replace(partial, target)
    with contextlib.suppress(OSError):  # other downloads may be under way
        partial.parent.rmdir()
    return target
