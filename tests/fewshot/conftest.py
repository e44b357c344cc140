"""Tiny few-shot data on disk, in learn2learn's real formats."""
import importlib.util
import os

import pytest
import torch

from brnpa_plugins.fewshot import tiny_data

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def load_module(path: str, name: str):
    """Import a script by path (the tests run with --import-mode=importlib,
    which puts no test folder on sys.path)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CONFIG_DIR = os.path.join(REPO, 'configs', 'fewshot')
TINY_WIDTHS = (8, 16, 32, 64)
#: The episodes of the validation and test data loaders in the tiny runs
#: (training draws a new one every iteration).
TINY_EPISODES = {'val': 3, 'test': 3}
PRETRAIN = os.path.join(
    CONFIG_DIR, 'brnpa-pretrain_resnet12_1xb128-100e_mini-imagenet.py')
ONE_SHOT = os.path.join(CONFIG_DIR,
                        'brnpa-protonet_resnet12_mini-imagenet_5way-1shot.py')
FIVE_SHOT = os.path.join(CONFIG_DIR,
                         'brnpa-protonet_resnet12_mini-imagenet_5way-5shot.py')


def tiny_options(root, pretrain=False, max_iters=4, num_classes=8):
    """``--cfg-options`` that make a configs/fewshot config run in seconds
    on the tiny data (32 px, 15 images per class, 8 training classes):
    tiny widths, 2-shot 2-query episodes (a new training one every
    iteration), 3 validation and test episodes;
    one pre-training epoch of batches of 40 images, or ``max_iters``
    episodes validated and checkpointed every 2; no pre-trained weights."""
    options = [f'model.learner.widths={TINY_WIDTHS}',
               'default_hooks.logger.interval=1',
               'custom_hooks.0.max_images=2']
    for loader in ('train', 'val', 'test'):
        prefix = f'{loader}_dataloader.'
        options += [prefix + 'num_workers=0',
                    prefix + 'persistent_workers=False',
                    f'{prefix}dataset.root={root}',
                    prefix + 'dataset.image_size=32']
        if not (pretrain and loader == 'train'):
            options += [prefix + 'dataset.shots=2',
                        prefix + 'dataset.queries=2']
        if loader in TINY_EPISODES:
            options.append(f'{prefix}dataset.num_episodes='
                           f'{TINY_EPISODES[loader]}')
    if pretrain:
        return options + [
            'train_dataloader.batch_size=40', 'train_cfg.max_epochs=1',
            'train_cfg.val_interval=1', 'param_scheduler.T_max=1',
            f'model.num_classes={num_classes}']
    return options + [
        'model.pretrained=None', f'train_cfg.max_iters={max_iters}',
        'train_cfg.val_interval=2', 'default_hooks.checkpoint.interval=2']


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
    return tiny_data.write_image_folder(
        str(tmp_path_factory.mktemp('folder')), tiny_splits)


@pytest.fixture(scope='session')
def pretrained(tmp_path_factory, pickle_root, train_fewshot,
               scopes_forgotten):
    """The work directory of one tiny base-class pre-training by
    tools/train_fewshot.py (epoch_1.pth, metrics.json)."""
    work_dir = tmp_path_factory.mktemp('pretrain')
    with scopes_forgotten():  # a session fixture: not reset per test
        metrics = train_fewshot([PRETRAIN, '--work-dir', str(work_dir),
                                 '--cfg-options',
                                 *tiny_options(pickle_root, pretrain=True)])
    return work_dir, metrics


@pytest.fixture(scope='session')
def train_fewshot_tool():
    """tools/train_fewshot.py, as a module."""
    return load_module(os.path.join(REPO, 'tools', 'train_fewshot.py'),
                       'train_fewshot')


@pytest.fixture(scope='session')
def train_fewshot(train_fewshot_tool):
    """The ``main`` of tools/train_fewshot.py: runs it, returns the test
    metrics."""
    return train_fewshot_tool.main


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
