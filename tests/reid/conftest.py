"""A tiny Market-1501 in the real on-disk layout, read by torchreid itself."""
import contextlib
import importlib.util
import io
import os.path as osp

import numpy as np
import pytest
import torch

import brnpa_plugins.reid  # noqa: F401  (registers the BR-NPA models)

HEIGHT, WIDTH = 64, 32


@pytest.fixture(scope='session')
def market_root(tmp_path_factory):
    """A data root with 24 train, 8 query and 16 gallery images, written by
    tools/make_tiny_reid_data.py.

    Every test identity is seen by cameras 1 and 2 in the query and by
    cameras 1, 2 and 3 in the gallery, so each query has a same-camera
    item to discard and correct matches to find. The gallery also holds
    background (identity 0) and junk (identity -1) images, as the real one.
    """
    root = tmp_path_factory.mktemp('reid-data')
    return load_tool('make_tiny_reid_data').make_tiny_market(root)


#: Overrides that make any config tiny: small images, a ResNet-18 without
#: ImageNet weights, one epoch, no worker processes.
TINY = [
    'model.name', 'brnpa_resnet18', 'model.pretrained', 'False',
    'model.embedding_dim', '32', 'data.height', str(HEIGHT), 'data.width',
    str(WIDTH), 'data.workers', '0', 'train.batch_size', '8',
    'train.max_epoch', '1', 'train.fixbase_epoch', '0', 'train.print_freq',
    '1', 'test.batch_size', '16', 'use_gpu', 'False'
]


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
    np.random.seed(0)


REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = osp.join(REPO, 'configs', 'reid')


def load_tool(name: str):
    """Import tools/<name>.py (tools/ is not a package)."""
    spec = importlib.util.spec_from_file_location(
        f'reid_tool_{name}', osp.join(REPO, 'tools', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_tool(name: str, argv) -> str:
    """Run a tool's main(argv); return what it printed."""
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        assert load_tool(name).main(argv) == 0
    return output.getvalue()


@pytest.fixture(scope='session')
def softmax_run(market_root, tmp_path_factory):
    """One epoch of the Market-1501 softmax config, made tiny.

    Returns the save_dir and the printed log.
    """
    save_dir = str(tmp_path_factory.mktemp('softmax-run'))
    log = run_tool('train_reid', [
        '--config-file',
        osp.join(CONFIGS, 'brnpa_r50_softmax_256x128_market1501.yaml'),
        '--root', market_root, *TINY, 'data.save_dir', save_dir
    ])
    return save_dir, log


@pytest.fixture
def tiny():
    """The overrides that make a config tiny (a fresh list)."""
    return list(TINY)


@pytest.fixture
def reid_tool():
    """run_tool(name, argv) -> printed log."""
    return run_tool


@pytest.fixture
def reid_config():
    """reid_config(file name) -> path of a config in configs/reid."""
    return lambda name: osp.join(CONFIGS, name)
