"""The real CUB/Cars/Aircraft configs shrunk for tests, and tiny data sets.

A shrunk config keeps everything of the real one (dataset classes, schedule,
hooks, the distiller) but uses a ResNet-18 with 16 base channels, 64 px
crops, batches of 8, one epoch and no pretrained-weight download.
"""
import os
import uuid
from typing import Optional

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from PIL import Image

from brnpa_plugins.data import SyntheticPartsConfig, generate_part_dataset
from brnpa_plugins.openmmlab.tools import run_mmpretrain_tool
from mmpretrain.datasets.categories import FGVCAIRCRAFT_CATEGORIES
from mmpretrain.registry import HOOKS

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
CONFIG_DIR = os.path.join(REPO, 'configs', 'brnpa')
DATASETS = ('cub', 'cars', 'aircraft')
KINDS = ('brnpa-lowres_resnet50', 'brnpa-highres-kd_resnet50',
         'resnet50-gap')
TINY_CUB = SyntheticPartsConfig(num_classes=4, train_per_class=8,
                                test_per_class=4, image_size=64, part_size=12)
NUM_CLASSES = TINY_CUB.num_classes
CHANNELS = 128  # a ResNet-18's last stage with 16 base channels
CROP = 64


def config_path(kind: str, dataset: str) -> str:
    """Path of a real config, e.g. ``config_path('resnet50-gap', 'cub')``."""
    return os.path.join(CONFIG_DIR, f'{kind}_8xb12_{dataset}.py')


def shrink(cfg: Config, data_root: str, work_dir: str,
           batch_size: int = 8) -> Config:
    """Make a real config tiny (in place) and point it at ``data_root``."""
    # A unique name: mmengine's global MessageHub is named after it, and the
    # default (a timestamp in seconds) is shared by runners built together.
    cfg.experiment_name = f'tiny_{uuid.uuid4().hex}'
    cfg.model.backbone.update(depth=18, stem_channels=16, base_channels=16,
                              init_cfg=None)
    if 'in_channels' in cfg.model.neck:
        cfg.model.neck.in_channels = CHANNELS
    cfg.model.head.update(in_channels=CHANNELS, num_classes=NUM_CLASSES)
    cfg.data_preprocessor.num_classes = NUM_CLASSES
    for loader in (cfg.train_dataloader, cfg.test_dataloader):
        loader.update(batch_size=batch_size, num_workers=0,
                      persistent_workers=False)
        loader.dataset.data_root = data_root
        for transform in loader.dataset.pipeline:
            if transform.type == 'Resize':
                transform.scale = CROP + 8
            if 'crop_size' in transform:
                transform.crop_size = CROP
    for hook in cfg.get('custom_hooks', []):
        if hook.type == 'RankedMapsHook':
            hook.num_images = 2
    cfg.train_cfg.max_epochs = 1
    cfg.default_hooks.logger.interval = 1
    cfg.work_dir = str(work_dir)
    return cfg


def tiny_config(kind: str, data_root: str, work_dir: str,
                teacher: Optional[dict] = None, **kwargs) -> Config:
    """The shrunk CUB config of ``kind``; ``teacher`` for the KD one."""
    cfg = shrink(Config.fromfile(config_path(kind, 'cub')), data_root,
                 work_dir, **kwargs)
    if teacher is not None:
        cfg.model.teacher = teacher
    return cfg


def write_config(cfg: Config, path) -> str:
    cfg.dump(str(path))
    return str(path)


def train(config: str, *args: str) -> None:
    """Run tools/train.py in this process (the real tool, no subprocess)."""
    run_mmpretrain_tool('train', [config, *args])


def save_random_weights(cfg: Config, path) -> str:
    """Save the untrained model of ``cfg`` as a checkpoint file."""
    from mmpretrain.apis import get_model
    torch.manual_seed(0)
    torch.save({'state_dict': get_model(cfg, pretrained=False).state_dict()},
               str(path))
    return str(path)


def tiny_cub(root) -> str:
    return generate_part_dataset(str(root), TINY_CUB)


def _write_images(folder: str, names, size: int = 48) -> None:
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(0)
    for name in names:
        pixels = rng.integers(0, 255, (size, size + 8, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(os.path.join(folder, name))


def tiny_stanford_cars(root, count: int = 4) -> str:
    """Stanford Cars in its ``cars_annos.mat`` + ``car_ims/`` layout."""
    import mat4py
    root = str(root)
    names = [f'{i + 1:06d}.jpg' for i in range(count)]
    _write_images(os.path.join(root, 'car_ims'), names)
    mat4py.savemat(
        os.path.join(root, 'cars_annos.mat'), {
            'annotations': {
                'relative_im_path': [f'car_ims/{n}' for n in names],
                'class': [i % NUM_CLASSES + 1 for i in range(count)],
                'test': [i % 2 for i in range(count)],
            }
        })
    return root


def tiny_fgvc_aircraft(root, count: int = 4) -> str:
    """FGVC-Aircraft in its ``data/images_variant_<split>.txt`` layout."""
    data = os.path.join(str(root), 'data')
    ids = [f'{1000000 + i}' for i in range(count)]
    _write_images(os.path.join(data, 'images'), [f'{i}.jpg' for i in ids])
    for split in ('trainval', 'test'):
        with open(os.path.join(data, f'images_variant_{split}.txt'), 'w') as f:
            f.writelines(
                f'{image} {FGVCAIRCRAFT_CATEGORIES[k % NUM_CLASSES]}\n'
                for k, image in enumerate(ids))
    return str(root)


TINY_DATA = {
    'cub': tiny_cub,
    'cars': tiny_stanford_cars,
    'aircraft': tiny_fgvc_aircraft
}


@HOOKS.register_module(force=True)
class SaveRankWeightsHook(Hook):
    """Every process saves its weights, as rank<k>_init.pth before training
    and rank<k>.pth after."""

    def _save(self, runner, suffix: str) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        torch.save(model.state_dict(),
                   os.path.join(runner.work_dir,
                                f'rank{get_rank()}{suffix}.pth'))

    def before_train(self, runner) -> None:
        self._save(runner, '_init')

    def after_train(self, runner) -> None:
        self._save(runner, '')
