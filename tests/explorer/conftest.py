"""A tiny BR-NPA model of the demo's shape, and an explorer served from it.

The model is the demo config shrunk (8 base channels) with seeded random
weights; its head is scaled up so that its probabilities are far from
uniform and move visibly when an object is removed. It is saved with the
benchmark's class names, as a trained checkpoint would be.
"""
import os
import socket
import time
import urllib.request

import pytest
import torch

from brnpa_plugins.data import synthetic

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
DEMO_CONFIG = os.path.join(REPO, 'configs', 'brnpa',
                           'brnpa_resnet18-w16_1xb32_synthetic-parts.py')
#: Most seconds a served explorer may take to answer its first request.
START_TIMEOUT = 60


def write_tiny_model(folder):
    """(config path, checkpoint path) of the tiny model."""
    import brnpa_plugins.openmmlab  # noqa: F401
    from mmengine.config import Config
    from mmpretrain.apis import get_model
    cfg = Config.fromfile(DEMO_CONFIG)
    cfg.model.backbone.update(stem_channels=8, base_channels=8)
    cfg.model.neck.in_channels = 64
    cfg.model.head.in_channels = 64
    config = os.path.join(folder, 'tiny_brnpa.py')
    cfg.dump(config)
    torch.manual_seed(0)
    model = get_model(cfg, pretrained=False)
    with torch.no_grad():
        model.head.fc.weight.mul_(300)
    names = synthetic.class_names(synthetic.SyntheticPartsConfig())
    checkpoint = os.path.join(folder, 'tiny_brnpa.pth')
    torch.save({'state_dict': model.state_dict(),
                'meta': {'dataset_meta': {'classes': names}}}, checkpoint)
    return config, checkpoint


@pytest.fixture(scope='session')
def tiny_model(tmp_path_factory):
    return write_tiny_model(str(tmp_path_factory.mktemp('explorer_model')))


@pytest.fixture(scope='session')
def loaded(tiny_model):
    from brnpa_plugins.explorer.session import load_model
    return load_model(*tiny_model)


def wait_for_page(url, process=None):
    """Return once ``url`` answers 200; fail after START_TIMEOUT s, or as
    soon as the serving ``process`` (a Popen, if any) has ended."""
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if process is not None and process.poll() is not None:
            pytest.fail(f'the explorer ended before answering on {url}:\n'
                        + process.stdout.read()[-3000:])
        if time.monotonic() > deadline:
            pytest.fail(f'the explorer did not answer on {url} within '
                        f'{START_TIMEOUT} s')
        time.sleep(0.2)


@pytest.fixture
def page_waiter():
    """:func:`wait_for_page`, for tests that start a server themselves."""
    return wait_for_page


@pytest.fixture
def port() -> int:
    """A free TCP port on 127.0.0.1."""
    return free_port()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


@pytest.fixture(scope='session')
def served(tiny_model):
    """URL of the explorer serving the tiny model on 127.0.0.1 (what
    ``brnpa explore CONFIG --checkpoint CKPT`` runs), stopped after the
    tests."""
    pytest.importorskip('gradio', reason='the explorer extra (gradio) is '
                        'not installed: pip install "brnpa-plugins[explorer]"')
    from brnpa_plugins.explorer.app import launch
    port = free_port()
    app = launch(*tiny_model, host='127.0.0.1', port=port, block=False)
    url = f'http://127.0.0.1:{port}/'
    try:
        wait_for_page(url)
        yield url
    finally:
        app.close()
