"""``HighResolutionBackbone`` in configs, and the ConvNeXt, ViT and Swin
configs through the real mmpretrain registry and Runner, on tiny data."""
import copy
import os
import uuid

import pytest
import torch
import yaml
from mmengine.config import Config
from mmengine.runner import Runner

import brnpa_plugins.openmmlab  # noqa: F401
from mmpretrain.registry import MODELS

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
CONFIG_DIR = os.path.join(REPO, 'configs', 'brnpa')
#: Backbone settings small enough for a few seconds of CPU per epoch.
TINY_BACKBONES = {
    'ConvNeXt': dict(arch=dict(depths=[1, 1, 1, 1], channels=[8, 16, 24, 32])),
    'VisionTransformer': dict(
        arch=dict(embed_dims=32, num_layers=2, num_heads=2,
                  feedforward_channels=64), img_size=64),
    'SwinTransformer': dict(
        arch=dict(embed_dims=4, depths=[1, 1, 1, 1], num_heads=[1, 1, 1, 1]),
        img_size=64, window_size=2),
}
TINY_CHANNELS = 32
#: config -> side of the attention maps at 64 px.
SYNTHETIC = {
    'brnpa_convnext-tiny-w16_1xb32_synthetic-parts.py': 2,   # stride 32
    'brnpa-highres_convnext-tiny-w16_1xb32_synthetic-parts.py': 8,  # 8
    'brnpa_vit-w64-p8_1xb32_synthetic-parts.py': 8,          # patch 8
    'brnpa-highres_vit-w64-p8_1xb32_synthetic-parts.py': 16,  # stride 4
    'brnpa-finalnorm_vit-w64-p8_1xb32_synthetic-parts.py': 8,
    'brnpa-relu_vit-w64-p8_1xb32_synthetic-parts.py': 8,
    'brnpa_swin-tiny-w16_1xb32_synthetic-parts.py': 2,       # stride 32
    'brnpa-highres_swin-tiny-w16_1xb32_synthetic-parts.py': 4,  # 16
}
#: (family, mmpretrain metafile folder, ImageNet model whose weights load)
CUB = [('convnext-tiny', 'convnext', 'convnext-tiny_32xb128_in1k'),
       ('deit-small-p16', 'deit', 'deit-small_4xb256_in1k'),
       ('swin-tiny', 'swin_transformer', 'swin-tiny_16xb64_in1k')]


def inner_backbone(cfg_backbone):
    while cfg_backbone.type in ('HighResolutionBackbone', 'WithoutFinalNorm'):
        cfg_backbone = cfg_backbone.backbone
    return cfg_backbone


def tiny_family_config(file_name, data_root, work_dir, epochs=1):
    """A synthetic-benchmark config with a tiny backbone and tiny data."""
    cfg = Config.fromfile(os.path.join(CONFIG_DIR, file_name))
    cfg.work_dir = str(work_dir)
    cfg.experiment_name = f'tiny_{uuid.uuid4().hex}'
    backbone = inner_backbone(cfg.model.backbone)
    backbone.update(TINY_BACKBONES[backbone.type])
    with open(os.path.join(data_root, 'class_names.txt')) as file:
        num_classes = len(file.read().split())
    cfg.model.neck.in_channels = TINY_CHANNELS
    cfg.model.head.update(in_channels=TINY_CHANNELS, num_classes=num_classes)
    cfg.data_preprocessor.num_classes = num_classes
    for loader in ('train_dataloader', 'test_dataloader'):
        cfg[loader].update(num_workers=0, persistent_workers=False,
                           batch_size=8)
        cfg[loader].dataset.update(
            data_root=data_root, classes=f'{data_root}/class_names.txt')
    cfg.train_cfg.max_epochs = epochs
    cfg.default_hooks.logger.interval = 1
    cfg.param_scheduler = [
        dict(type='CosineAnnealingLR', by_epoch=True, T_max=epochs)
    ]
    return cfg


def attention_side(model, size=64):
    model.eval()
    with torch.no_grad():
        out = model.neck(model.backbone(torch.rand(1, 3, size, size)))
    assert out.attention.shape[:2] == (1, 3)
    assert out.attention.shape[-1] == out.attention.shape[-2]
    return out.attention.shape[-1]


def test_configs_ask_for_the_high_resolution_form_by_wrapping_the_backbone():
    low = Config.fromfile(os.path.join(
        CONFIG_DIR, 'brnpa_convnext-tiny-w16_1xb32_synthetic-parts.py'))
    high = Config.fromfile(os.path.join(
        CONFIG_DIR,
        'brnpa-highres_convnext-tiny-w16_1xb32_synthetic-parts.py'))
    assert high.model.backbone.type == 'HighResolutionBackbone'
    assert high.model.backbone.backbone == low.model.backbone
    torch.manual_seed(0)
    standard = MODELS.build(low.model.backbone)
    converted = MODELS.build(high.model.backbone)
    # the builder returns the backbone itself: the same parameter names, so
    # the same checkpoints load into both forms
    assert type(converted).__name__ == 'ConvNeXt'
    converted.load_state_dict(standard.state_dict(), strict=True)
    images = torch.rand(1, 3, 96, 96)
    assert standard(images)[-1].shape[-2:] == (3, 3)
    assert converted(images)[-1].shape[-2:] == (12, 12)


def test_the_builder_passes_stages_and_names_bad_arguments():
    inner = dict(type='ConvNeXt', gap_before_final_norm=False,
                 arch=dict(depths=[1, 1, 1, 1], channels=[8, 8, 8, 8]))
    model = MODELS.build(dict(type='HighResolutionBackbone',
                              backbone=inner, stages=[3]))
    assert model(torch.rand(1, 3, 64, 64))[-1].shape[-2:] == (4, 4)
    with pytest.raises(TypeError, match="'stage' .*did you mean 'stages'"):
        MODELS.build(dict(type='HighResolutionBackbone', backbone=inner,
                          stage=[3]))
    with pytest.raises(ValueError, match='must be the config dict'):
        MODELS.build(dict(type='HighResolutionBackbone', backbone='ConvNeXt'))
    with pytest.raises(ValueError, match="backbone.type='VGG'.*"
                       'known families'):
        MODELS.build(dict(type='HighResolutionBackbone',
                          backbone=dict(type='VGG', depth=11)))


@pytest.mark.parametrize('file_name', sorted(SYNTHETIC))
def test_synthetic_config_trains_resumes_and_tests(file_name, tiny_cub_root,
                                                   tmp_path):
    work_dir = tmp_path / 'work_dir'
    runner = Runner.from_cfg(
        tiny_family_config(file_name, tiny_cub_root, work_dir, epochs=1))
    runner.train()
    assert os.path.isfile(work_dir / 'epoch_1.pth')
    assert attention_side(runner.model) == SYNTHETIC[file_name]
    cfg = tiny_family_config(file_name, tiny_cub_root, work_dir, epochs=2)
    cfg.resume = True
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.epoch == 2
    # the training curve goes on from epoch 1's history: 4 iterations each
    assert len(runner.message_hub.get_scalar('train/loss').data[0]) == 8
    metrics = runner.test()
    assert 0.0 <= metrics['accuracy/top1'] <= 100.0


def test_high_resolution_checkpoint_loads_into_the_standard_config(
        tiny_cub_root, tmp_path):
    high = 'brnpa-highres_vit-w64-p8_1xb32_synthetic-parts.py'
    low = 'brnpa_vit-w64-p8_1xb32_synthetic-parts.py'
    runner = Runner.from_cfg(
        tiny_family_config(high, tiny_cub_root, tmp_path / 'high'))
    runner.train()
    cfg = tiny_family_config(low, tiny_cub_root, tmp_path / 'low')
    cfg.load_from = str(tmp_path / 'high' / 'epoch_1.pth')
    runner = Runner.from_cfg(cfg)
    metrics = runner.test()  # the position embedding is resized back
    assert 0.0 <= metrics['accuracy/top1'] <= 100.0
    assert attention_side(runner.model) == 8


def imagenet_url(folder, name):
    import mmpretrain
    metafile = os.path.join(os.path.dirname(mmpretrain.__file__), '.mim',
                            'configs', folder, 'metafile.yml')
    with open(metafile) as stream:
        models = yaml.safe_load(stream)['Models']
    return next(m['Weights'] for m in models if m['Name'] == name)


@pytest.mark.parametrize('family, folder, imagenet', CUB,
                         ids=[family for family, _, _ in CUB])
def test_cub_configs_load_mmpretrain_weights_and_double_the_grid(
        family, folder, imagenet):
    sides = {}
    for kind in ('brnpa-lowres', 'brnpa-highres-kd'):
        cfg = Config.fromfile(
            os.path.join(CONFIG_DIR, f'{kind}_{family}_8xb12_cub.py'))
        backbone = inner_backbone(cfg.model.backbone)
        assert backbone.init_cfg.checkpoint == imagenet_url(folder, imagenet)
        assert cfg.model.head.num_classes == 200
        assert cfg.model.neck.in_channels == cfg.model.head.in_channels
        if kind == 'brnpa-highres-kd':
            assert cfg.model.type == 'BRNPADistiller'
            assert cfg.model.teacher.config == os.path.join(
                CONFIG_DIR, f'brnpa-lowres_{family}_8xb12_cub.py')
        student = copy.deepcopy(cfg.model.backbone)
        inner_backbone(student).init_cfg = None  # no download in tests
        model = MODELS.build(dict(type='ImageClassifier', backbone=student,
                                  neck=cfg.model.neck, head=cfg.model.head))
        sides[kind] = attention_side(model, size=224)
    assert sides['brnpa-highres-kd'] >= 2 * sides['brnpa-lowres']


#: Tiny backbones of each CUB family, their channels and map sides at 64 px
#: (standard, high-res).
TINY_CUB_BACKBONES = {
    'convnext-tiny': (TINY_BACKBONES['ConvNeXt'], 32, (2, 8)),
    'deit-small-p16': (TINY_BACKBONES['VisionTransformer'], 32, (4, 8)),
    'swin-tiny': (dict(arch=dict(embed_dims=16, depths=[1, 1, 1, 1],
                                 num_heads=[1, 1, 2, 2]),
                       img_size=64, window_size=2), 128, (2, 4)),
}


def tiny_cub_config(kind, family, data_root, work_dir, epochs=1):
    """A real CUB config of a family, with a tiny backbone and 64 px crops."""
    cfg = Config.fromfile(os.path.join(CONFIG_DIR,
                                       f'{kind}_{family}_8xb12_cub.py'))
    cfg.work_dir = str(work_dir)
    cfg.experiment_name = f'tiny_{uuid.uuid4().hex}'
    settings, channels, _ = TINY_CUB_BACKBONES[family]
    inner_backbone(cfg.model.backbone).update(settings, init_cfg=None)
    with open(os.path.join(data_root, 'class_names.txt')) as file:
        num_classes = len(file.read().split())
    cfg.model.neck.in_channels = channels
    cfg.model.head.update(in_channels=channels, num_classes=num_classes)
    cfg.data_preprocessor.num_classes = num_classes
    for loader in (cfg.train_dataloader, cfg.test_dataloader):
        loader.update(batch_size=8, num_workers=0, persistent_workers=False)
        loader.dataset.data_root = data_root
        for transform in loader.dataset.pipeline:
            if transform.type == 'Resize':
                transform.scale = 72
            if 'crop_size' in transform:
                transform.crop_size = 64
    for hook in cfg.get('custom_hooks', []):
        if hook.type == 'RankedMapsHook':
            hook.num_images = 2
    cfg.train_cfg.max_epochs = epochs
    cfg.default_hooks.logger.interval = 1
    return cfg


@pytest.mark.parametrize('family', sorted(TINY_CUB_BACKBONES))
def test_cub_recipe_teacher_then_high_resolution_student(
        family, tiny_cub_root, tmp_path):
    _, _, (low_side, high_side) = TINY_CUB_BACKBONES[family]
    teacher_cfg = tiny_cub_config('brnpa-lowres', family, tiny_cub_root,
                                  tmp_path / 'teacher')
    runner = Runner.from_cfg(teacher_cfg)
    runner.train()
    assert attention_side(runner.model) == low_side
    teacher = dict(config=str(tmp_path / 'teacher.py'),
                   checkpoint=str(tmp_path / 'teacher' / 'epoch_1.pth'))
    teacher_cfg.dump(teacher['config'])

    def student(epochs):
        cfg = tiny_cub_config('brnpa-highres-kd', family, tiny_cub_root,
                              tmp_path / 'student', epochs=epochs)
        cfg.model.teacher.update(teacher)
        return cfg

    Runner.from_cfg(student(1)).train()
    cfg = student(2)
    cfg.resume = True
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.epoch == 2
    assert len(runner.message_hub.get_scalar('train/loss').data[0]) == 8
    assert attention_side(runner.model) == high_side
    metrics = runner.test()
    assert 0.0 <= metrics['accuracy/top1'] <= 100.0


@pytest.mark.parametrize('backbone', [
    dict(type='VisionTransformer', out_type='featmap', patch_size=16,
         **TINY_BACKBONES['VisionTransformer']),
    dict(type='ConvNeXt', gap_before_final_norm=False,
         **TINY_BACKBONES['ConvNeXt']),
], ids=['vit', 'convnext'])
def test_pretrained_init_cfg_loads_standard_weights_after_conversion(
        backbone, tmp_path):
    torch.manual_seed(0)
    standard = MODELS.build(backbone)
    standard.init_weights()
    path = str(tmp_path / 'imagenet.pth')
    # an mmpretrain classifier checkpoint, as init_cfg's prefix expects
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in
                               standard.state_dict().items()}}, path)
    converted = MODELS.build(dict(
        type='HighResolutionBackbone',
        backbone=dict(backbone, init_cfg=dict(
            type='Pretrained', checkpoint=path, prefix='backbone'))))
    converted.init_weights()
    for name, value in standard.state_dict().items():
        loaded = converted.state_dict()[name]
        if name == 'pos_embed':  # interpolated to the 2x grid
            assert loaded.shape[1] - 1 == 4 * (value.shape[1] - 1)
        else:
            assert torch.equal(loaded, value), name


@pytest.mark.parametrize('backbone, norm', [
    (dict(type='ConvNeXt', gap_before_final_norm=False,
          **TINY_BACKBONES['ConvNeXt']), 'norm3'),
    (dict(type='VisionTransformer', out_type='featmap',
          **TINY_BACKBONES['VisionTransformer']), 'ln1'),
    (dict(type='SwinTransformer', img_size=64, window_size=2,
          arch=dict(embed_dims=16, depths=[1, 1, 1, 1],
                    num_heads=[1, 1, 2, 2])), 'norm3'),
])
def test_without_final_norm_reads_the_residual_stream(backbone, norm):
    torch.manual_seed(0)
    standard = MODELS.build(copy.deepcopy(backbone))
    model = MODELS.build(dict(type='WithoutFinalNorm',
                              backbone=copy.deepcopy(backbone)))
    standard.eval(), model.eval()  # (their train() returns None)
    assert isinstance(getattr(model, norm), torch.nn.Identity)
    # The standard form's weights load; only the final norm's are unused.
    missing, unexpected = model.load_state_dict(standard.state_dict(),
                                                strict=False)
    assert not missing and {k.split('.')[0] for k in unexpected} == {norm}
    images = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        out = model(images)[-1]
        normalised = standard(images)[-1]
    # The standard map is this one after a per-location LayerNorm: same
    # shape, and a norm that is nearly constant over locations.
    assert out.shape == normalised.shape
    spread = [m.norm(dim=1).flatten(1) for m in (out, normalised)]
    cv = [(s.std(1) / s.mean(1)).mean() for s in spread]
    assert cv[1] < cv[0]
    high = MODELS.build(dict(type='WithoutFinalNorm', backbone=dict(
        type='HighResolutionBackbone', backbone=copy.deepcopy(backbone))))
    with torch.no_grad():
        assert high(images)[-1].shape[-1] >= 2 * out.shape[-1]


def test_without_final_norm_names_a_backbone_that_has_none():
    with pytest.raises(ValueError, match=r"WithoutFinalNorm \(backbone.type="
                       r"'ResNet'\): ResNet: its last feature map comes from "
                       r"ResLayer, not from a normalisation layer"):
        MODELS.build(dict(type='WithoutFinalNorm', backbone=dict(
            type='ResNet', depth=18, base_channels=8)))
    with pytest.raises(TypeError, match="did you mean 'backbone'"):
        MODELS.build(dict(type='WithoutFinalNorm', backbon=dict()))


def test_feature_norm_spread_tool_tells_a_layer_norm_map_apart(
        tiny_cub_root, tmp_path, capsys):
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'feature_norm_spread',
        os.path.join(REPO, 'tools', 'feature_norm_spread.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    torch.manual_seed(0)
    varied = torch.rand(2, 8, 6, 6) * (1 + 9 * torch.rand(2, 1, 6, 6))
    flat = torch.nn.functional.layer_norm(varied.permute(0, 2, 3, 1),
                                          (8, )).permute(0, 3, 1, 2)
    assert (tool.coefficient_of_variation(flat) < 1e-2).all()
    assert (tool.coefficient_of_variation(varied) > 0.1).all()
    # The tool itself, on a checkpoint of a tiny ViT config.
    file_name = 'brnpa_vit-w64-p8_1xb32_synthetic-parts.py'
    cfg = tiny_family_config(file_name, tiny_cub_root, tmp_path / 'work')
    runner = Runner.from_cfg(cfg)
    runner.train()
    cfg.dump(str(tmp_path / 'tiny.py'))
    tool.main([str(tmp_path / 'tiny.py'), str(tmp_path / 'work' /
                                              'epoch_1.pth'),
               '--images', '4'])
    lines = capsys.readouterr().out.splitlines()
    assert lines[-2].startswith('features: coefficient of variation')
    assert 'mean over 4 test images' in lines[-1]
