"""A real HTTP server on 127.0.0.1 serving real torch.save checkpoints."""
import hashlib
import io
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import torch

from brnpa_plugins.plugins import (DISABLE_AUTOLOAD_ENV, get_plugin_manager,
                                   hookimpl, reset_plugins)
from brnpa_plugins.zoo import CACHE_ENV, MIRROR_ENV


class _Handler(BaseHTTPRequestHandler):

    def log_message(self, *args):
        pass

    def do_GET(self):
        server = self.server.checkpoints
        range_header = self.headers.get('Range')
        server.requests.append((self.path, range_header))
        failures = server.fail_first.get(self.path)
        if failures:
            self.send_error(failures.pop(0))
            return
        if self.path in server.redirects:
            self.send_response(302)
            self.send_header('Location', server.redirects[self.path])
            self.send_header('Content-Length', '0')
            self.end_headers()
            return
        data = server.files.get(self.path)
        if data is None:
            self.send_error(404)
            return
        start = 0
        if range_header and server.honour_range:
            start = int(re.match(r'bytes=(\d+)-$', range_header).group(1))
            if start >= len(data):
                self.send_error(416)
                return
            self.send_response(206)
            content_range = server.content_range
            if content_range is None:
                content_range = f'bytes {start}-{len(data) - 1}/{len(data)}'
            if content_range:
                self.send_header('Content-Range', content_range)
        else:
            self.send_response(200)
        body = data[start:]
        if server.content_length:
            self.send_header('Content-Length', str(len(body)))
        self.send_header('Content-Type', 'application/octet-stream')
        self.end_headers()
        cut = server.cut_after.pop(self.path, None)
        # Cutting: send part of the body, then close the connection.
        body = body if cut is None else body[:cut]
        step = 1 << 16
        for begin in range(0, len(body), step):
            self.wfile.write(body[begin:begin + step])
            if server.throttle:
                time.sleep(server.throttle)


class CheckpointServer:
    """Serves ``files`` (URL path -> bytes) with Range support.

    Attributes:
        requests: (path, Range header) of every request, in order.
        cut_after: path -> bytes to send before closing, on the next request.
        fail_first: path -> HTTP statuses to answer before serving the file.
        redirects: path -> the Location a 302 answer sends there.
        honour_range: False to answer Range requests with the whole file.
        content_range: None for the true Content-Range of 206 answers; a
            text to send instead; '' to send none.
        content_length: False to send no Content-Length.
        throttle: seconds to wait after each 64 KiB of a body.
    """

    def __init__(self):
        self.files, self.requests = {}, []
        self.cut_after, self.fail_first, self.redirects = {}, {}, {}
        self.honour_range, self.content_length = True, True
        self.content_range = None
        self.throttle = 0.0
        self._server = ThreadingHTTPServer(('127.0.0.1', 0), _Handler)
        self._server.daemon_threads = True
        self._server.checkpoints = self
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs=dict(poll_interval=0.02),
                                        daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        return f'http://127.0.0.1:{self._server.server_port}{path}'

    def close(self):
        self._server.shutdown()
        self._server.server_close()


class ZooEntriesPlugin:
    """Registers given zoo entries, as a third-party plugin would."""

    def __init__(self, entries):
        self.entries = list(entries)

    @hookimpl
    def brnpa_register_zoo_entries(self, register):
        for entry in self.entries:
            register(entry)


def _checkpoint_bytes(seed: int, size: int = 64) -> bytes:
    generator = torch.Generator().manual_seed(seed)
    buffer = io.BytesIO()
    torch.save({'state_dict': {'weight': torch.randn(size, size,
                                                     generator=generator)},
                'meta': {'seed': seed, 'classes': ('a', 'b')}}, buffer)
    return buffer.getvalue()


@pytest.fixture
def checkpoint_bytes():
    """seed -> a real checkpoint file's bytes (torch.save of a 64x64 tensor
    and a plain meta)."""
    return _checkpoint_bytes


@pytest.fixture
def sha256():
    return lambda data: hashlib.sha256(data).hexdigest()


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@pytest.fixture
def server():
    checkpoints = CheckpointServer()
    yield checkpoints
    checkpoints.close()


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    """An empty cache directory; no mirror, no third-party plugins."""
    directory = tmp_path / 'cache'
    monkeypatch.setenv(CACHE_ENV, str(directory))
    monkeypatch.delenv(MIRROR_ENV, raising=False)
    monkeypatch.setenv(DISABLE_AUTOLOAD_ENV, '1')
    reset_plugins()
    yield directory
    reset_plugins()


@pytest.fixture
def register_zoo_entries():
    """Call with ZooEntry objects to add them to the zoo for one test."""
    def register(entries):
        get_plugin_manager().register(ZooEntriesPlugin(entries))
    return register
