"""Tiny generated data and configs for tests that run the real mmengine Runner."""
import copy
import os
import uuid

import pytest

from brnpa_plugins.data import SyntheticPartsConfig, generate_part_dataset

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
DEMO_CONFIG = os.path.join(REPO, 'configs', 'brnpa',
                           'brnpa_resnet18-w16_1xb32_synthetic-parts.py')
TINY_DATA = SyntheticPartsConfig(num_classes=4, train_per_class=8,
                                 test_per_class=4, image_size=64,
                                 part_size=12, distractors=2, seed=3)


@pytest.fixture(scope='session')
def tiny_cub_root(tmp_path_factory):
    """A CUB-layout folder with 32 train and 16 test images of 64 px."""
    return generate_part_dataset(
        str(tmp_path_factory.mktemp('data') / 'tiny_parts'), TINY_DATA)


def tiny_config(data_root, work_dir, epochs=1, with_val=True):
    """The demo config shrunk to a few seconds of CPU time."""
    from mmengine.config import Config
    cfg = Config.fromfile(DEMO_CONFIG)
    cfg.work_dir = str(work_dir)
    # mmengine names its global MessageHub after the experiment, by default
    # a timestamp in seconds: two runners built in the same second would
    # share one training history.
    cfg.experiment_name = f'tiny_{uuid.uuid4().hex}'
    cfg.model.backbone.update(stem_channels=8, base_channels=8)
    cfg.model.neck.in_channels = 64
    cfg.model.head.update(in_channels=64, num_classes=TINY_DATA.num_classes)
    cfg.data_preprocessor.num_classes = TINY_DATA.num_classes
    for loader in ('train_dataloader', 'test_dataloader'):
        cfg[loader].update(num_workers=0, persistent_workers=False,
                           batch_size=8)
        cfg[loader].dataset.update(
            data_root=data_root)  # classes: class_names.txt there
    if with_val:
        cfg.val_dataloader = copy.deepcopy(cfg.test_dataloader)
        cfg.val_evaluator = copy.deepcopy(cfg.test_evaluator)
        cfg.val_cfg = dict()
    cfg.train_cfg.max_epochs = epochs
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.checkpoint.max_keep_ckpts = -1
    cfg.param_scheduler = [
        dict(type='CosineAnnealingLR', by_epoch=True, T_max=epochs)
    ]
    return cfg


@pytest.fixture
def make_tiny_config():
    """The :func:`tiny_config` factory, for tests that need several."""
    return tiny_config


@pytest.fixture
def tiny_cfg(tiny_cub_root, tmp_path):
    return tiny_config(tiny_cub_root, tmp_path / 'work_dir')
