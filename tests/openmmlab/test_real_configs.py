"""The CUB / Stanford Cars / FGVC-Aircraft configs: recipe, building."""
import os
import sys

import pytest
import torch
import yaml
from mmengine.config import Config

import brnpa_plugins.openmmlab  # noqa: F401
from mmpretrain.registry import DATASETS, MODELS

# The tests run with --import-mode=importlib: put the helpers on the path.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _helpers_train import (DATASETS as NAMES, KINDS,  # noqa: E402
                            TINY_DATA, config_path, tiny_config, train,
                            write_config)

CLASSES = dict(cub=200, cars=196, aircraft=100)
ALL = [(kind, name) for name in NAMES for kind in KINDS]


def imagenet_resnet50_url() -> str:
    import mmpretrain
    metafile = os.path.join(os.path.dirname(mmpretrain.__file__), '.mim',
                            'configs', 'resnet', 'metafile.yml')
    with open(metafile) as stream:
        models = yaml.safe_load(stream)['Models']
    return next(m['Weights'] for m in models
                if m['Name'] == 'resnet50_8xb32_in1k')


@pytest.fixture(scope='module')
def tiny_roots(tmp_path_factory):
    """Each dataset in its real layout, a few 48 px images."""
    root = tmp_path_factory.mktemp('datasets')
    return {name: make(root / name) for name, make in TINY_DATA.items()}


@pytest.mark.parametrize('kind, name', ALL)
def test_config_follows_the_recipe(kind, name):
    cfg = Config.fromfile(config_path(kind, name))
    assert cfg.model.backbone.depth == 50
    assert cfg.model.backbone.init_cfg.checkpoint == imagenet_resnet50_url()
    assert cfg.model.head.num_classes == CLASSES[name]
    assert cfg.data_preprocessor.num_classes == CLASSES[name]
    train_steps = {t.type: t for t in cfg.train_dataloader.dataset.pipeline}
    assert train_steps['Resize'].scale == 512
    assert train_steps['RandomCrop'].crop_size == 448
    assert train_steps['RandomFlip'].prob == 0.5
    assert (train_steps['ColorJitter'].brightness,
            train_steps['ColorJitter'].saturation) == (0.126, 0.5)
    test_steps = {t.type: t for t in cfg.test_dataloader.dataset.pipeline}
    assert test_steps['Resize'].scale == 512
    assert test_steps['CenterCrop'].crop_size == 448
    assert cfg.train_dataloader.batch_size == 12
    assert cfg.train_cfg.max_epochs == 50
    # the authors' lr 1e-3 for 12 images, scaled to 8 GPUs x 12
    assert cfg.optim_wrapper.optimizer == dict(type='SGD', lr=8e-3,
                                               momentum=0.9)
    assert cfg.param_scheduler == dict(type='StepLR', by_epoch=True,
                                       step_size=2, gamma=0.9)
    assert cfg.auto_scale_lr.base_batch_size == 96
    is_kd = kind.startswith('brnpa-highres-kd')
    assert cfg.model.type == ('BRNPADistiller' if is_kd else 'ImageClassifier')
    assert cfg.model.backbone.get('strides', (1, 2, 2, 2)) == (
        (1, 2, 1, 1) if is_kd else (1, 2, 2, 2))
    if is_kd:
        assert cfg.model.teacher.config == config_path(
            'brnpa-lowres_resnet50', name)


@pytest.mark.parametrize('kind, name', ALL)
def test_config_builds_on_its_dataset_layout(kind, name, tiny_roots):
    cfg = Config.fromfile(config_path(kind, name))
    cfg.model.backbone.init_cfg = None
    cfg.model.data_preprocessor = cfg.data_preprocessor
    model = MODELS.build(cfg.model).eval()
    for loader in (cfg.train_dataloader, cfg.test_dataloader):
        loader.dataset.data_root = tiny_roots[name]
        dataset = DATASETS.build(loader.dataset)
        assert len(dataset) > 0
        sample = dataset[0]
        assert tuple(sample['inputs'].shape) == (3, 448, 448)
    with torch.no_grad():  # the student alone: the teacher is never loaded
        logits = model(torch.randn(1, 3, 64, 64), mode='tensor')
    assert logits.shape == (1, CLASSES[name])


@pytest.mark.parametrize('name', NAMES)
def test_missing_data_root_names_the_expected_layout(name, tmp_path):
    cfg = Config.fromfile(config_path('brnpa-lowres_resnet50', name))
    dataset = cfg.train_dataloader.dataset
    dataset.data_root = str(tmp_path / 'nowhere')
    with pytest.raises(FileNotFoundError, match='Expected layout') as error:
        DATASETS.build(dataset)
    assert 'nowhere' in str(error.value)

    incomplete = tmp_path / 'incomplete'
    TINY_DATA[name](incomplete)
    index = {'cub': 'train_test_split.txt', 'cars': 'cars_annos.mat',
             'aircraft': os.path.join('data', 'images_variant_trainval.txt')}
    os.remove(incomplete / index[name])
    dataset.data_root = str(incomplete)
    with pytest.raises(FileNotFoundError, match='Expected layout') as error:
        DATASETS.build(dataset)
    assert os.path.basename(index[name]) in str(error.value)


def test_auto_scale_lr_scales_with_the_real_batch(tiny_cub_root, tmp_path):
    work_dir = tmp_path / 'work'
    config = write_config(
        tiny_config('resnet50-gap', tiny_cub_root, work_dir, batch_size=4),
        tmp_path / 'scaled.py')
    train(config, '--auto-scale-lr')
    checkpoint = torch.load(work_dir / 'epoch_1.pth', weights_only=True)
    lr = checkpoint['optimizer']['param_groups'][0]['initial_lr']
    assert lr == pytest.approx(8e-3 * 4 / 96)


def test_benchmark_counts_and_times_a_distillation_step(tmp_path):
    import importlib.util
    from _helpers_train import REPO
    spec = importlib.util.spec_from_file_location(
        'benchmark_highres',
        os.path.join(REPO, 'tools', 'benchmark_highres.py'))
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)
    args = benchmark.parse_args(['--size', '64', '--batch-size', '1',
                                 '--iters', '1'])
    teacher = benchmark._random_teacher('cub', str(tmp_path / 't.pth'))
    base, kd = (benchmark.measure(benchmark.CASES[i], args, teacher)
                for i in (0, 3))
    # 64 px: a 2 x 2 map at strides (1, 2, 2, 2), 8 x 8 at (1, 2, 1, 1).
    assert (base['feature_map'], kd['feature_map']) == ('2x2', '8x8')
    assert kd['gmacs'] > 4 * base['gmacs'] > 0
    assert kd['seconds_per_image'] > 0 and kd['peak_mib'] > 0
    assert '| ResNet-50 + GAP | 2x2 |' in benchmark.table([base, kd], args)
