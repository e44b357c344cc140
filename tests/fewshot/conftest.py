"""Tiny few-shot data on disk, in learn2learn's real formats."""
import importlib.util
import os

import pytest
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def load_module(path: str, name: str):
    """Import a script by path (the tests run with --import-mode=importlib,
    which puts no test folder on sys.path)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tiny_data = load_module(os.path.join(HERE, 'tiny_fewshot_data.py'),
                        'tiny_fewshot_data')
CONFIG_DIR = os.path.join(REPO, 'configs', 'fewshot')
TINY_WIDTHS = (8, 16, 32, 64)
#: Overrides that make any configs/fewshot config run in seconds on 32 px
#: images (15 per class, 8 train classes).
TINY_OPTIONS = [
    'data.image_size=32', 'data.num_workers=0', 'progress=False',
    f'model.widths={TINY_WIDTHS}', 'pretrain.epochs=1',
    'pretrain.batch_size=40', 'pretrain.scheduler.T_max=1',
    'train.episodes=4', 'train.val_interval=2', 'val.episodes=3',
    'test.episodes=5', 'train_episode.shots=2', 'train_episode.queries=2',
    'test_episode.shots=2', 'test_episode.queries=2',
    'visualize.max_images=2'
]


@pytest.fixture(scope='session')
def tiny_splits():
    return tiny_data.make_splits()


@pytest.fixture(scope='session')
def pickle_root(tmp_path_factory, tiny_splits):
    """learn2learn's mini-ImageNet pickles: mini-imagenet-cache-*.pkl."""
    return tiny_data.write_mini_imagenet(str(tmp_path_factory.mktemp('mini')),
                               tiny_splits)


@pytest.fixture(scope='session')
def folder_root(tmp_path_factory, tiny_splits):
    """An image folder: {train,val,test}/<class>/<index>.png."""
    return tiny_data.write_image_folder(str(tmp_path_factory.mktemp('folder')),
                              tiny_splits)


@pytest.fixture(scope='session')
def train_fewshot():
    """The ``main`` of tools/train_fewshot.py."""
    return load_module(os.path.join(REPO, 'tools', 'train_fewshot.py'),
                       'train_fewshot').main


@pytest.fixture(autouse=True)
def single_thread():
    """One thread per test process: the suite runs under ``pytest -n 2``."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope='session')
def omniglot_root(tmp_path_factory, tiny_splits):
    """Omniglot's extracted layout: omniglot-py/images_{background,
    evaluation}/<alphabet>/character<NN>/*.png, 1-channel, 18 characters."""
    return tiny_data.write_omniglot(str(tmp_path_factory.mktemp('omniglot')),
                                    tiny_splits)
