"""RankedMapsHook, gradient checkpointing and the images a model saw."""
import glob
import os
import sys

import numpy as np
import pytest
import torch
from PIL import Image

import brnpa_plugins.openmmlab  # noqa: F401
from brnpa_plugins.openmmlab import RankedMapsHook
from brnpa_plugins.openmmlab.distiller import student_config
from brnpa_plugins.openmmlab.hooks import (enable_gradient_checkpointing,
                                           model_input_images)
from mmpretrain.apis import get_model
from mmpretrain.models.utils import ClsDataPreprocessor

# The tests run with --import-mode=importlib: put the helpers on the path.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _helpers_train import (CROP, tiny_config, train,  # noqa: E402
                            write_config)


def test_ranked_maps_are_written_every_epoch_and_to_tensorboard(
        tiny_cub_root, tmp_path):
    work_dir = tmp_path / 'work'
    cfg = tiny_config('brnpa-lowres_resnet50', tiny_cub_root, work_dir)
    cfg.train_cfg.max_epochs = 2
    cfg.optim_wrapper.optimizer.lr = 0.1
    cfg.visualizer.vis_backends = [dict(type='TensorboardVisBackend')]
    train(write_config(cfg, tmp_path / 'maps.py'))

    folder = work_dir / 'ranked_maps'
    epochs = sorted(os.listdir(folder))
    assert epochs == ['epoch_0', 'epoch_1', 'epoch_2']
    names = [sorted(os.listdir(folder / e)) for e in epochs]
    assert names[0] == names[1] == names[2] and len(names[0]) == 2
    first = np.asarray(Image.open(folder / 'epoch_0' / names[0][0]))
    last = np.asarray(Image.open(folder / 'epoch_2' / names[0][0]))
    # Image, RGB overlay and 3 part panels, each at least 160 px wide.
    assert first.shape[0] >= 160 and first.shape[1] >= 5 * 160
    assert not np.array_equal(first, last)  # the maps changed in training

    from tensorboard.backend.event_processing.event_accumulator import \
        EventAccumulator
    events = glob.glob(str(work_dir / '*' / 'vis_data' / 'events.out.*'))
    assert events
    accumulator = EventAccumulator(os.path.dirname(events[0]),
                                   size_guidance={'images': 0})
    accumulator.Reload()
    tags = accumulator.Tags()['images']
    assert len(tags) == 2 and all(t.startswith('ranked_maps/') for t in tags)
    assert [e.step for e in accumulator.Images(tags[0])] == [0, 1, 2]


@pytest.mark.parametrize('kwargs, message', [
    (dict(split='train'), "split must be one of \\('val', 'test'\\)"),
    (dict(num_images=0), 'num_images must be a positive integer'),
])
def test_ranked_maps_hook_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        RankedMapsHook(**kwargs)


@pytest.mark.parametrize('to_rgb', [True, False])
def test_model_input_images_undo_the_preprocessing(to_rgb):
    preprocessor = ClsDataPreprocessor(mean=[10., 20., 30.],
                                       std=[2., 3., 4.], to_rgb=to_rgb)
    bgr = torch.randint(0, 256, (2, 3, 8, 6), dtype=torch.uint8)
    inputs = preprocessor(dict(inputs=list(bgr)), False)['inputs']
    images = model_input_images(inputs, preprocessor)
    assert images.shape == (2, 8, 6, 3) and images.dtype == torch.uint8
    assert torch.equal(images, bgr.flip(1).permute(0, 2, 3, 1))


def test_gradient_checkpointing_of_high_res_stages(tmp_path):
    cfg = tiny_config('brnpa-highres-kd_resnet50', 'unused', tmp_path)
    cfg.model = student_config(cfg.model)
    inputs = torch.randn(2, 3, CROP, CROP)

    def gradients(model):
        model.zero_grad()
        model(inputs, mode='tensor').square().sum().backward()
        return {n: p.grad.clone() for n, p in model.named_parameters()}

    torch.manual_seed(0)
    model = get_model(cfg, pretrained=False).train()
    reference = gradients(model)
    assert enable_gradient_checkpointing(model.backbone,
                                         ('layer3', 'layer4')) == 4
    flags = {name: [block.with_cp for block in getattr(model.backbone, name)]
             for name in ('layer1', 'layer2', 'layer3', 'layer4')}
    assert flags == dict(layer1=[False] * 2, layer2=[False] * 2,
                         layer3=[True] * 2, layer4=[True] * 2)
    for name, grad in gradients(model).items():
        torch.testing.assert_close(grad, reference[name], msg=name)
    with pytest.raises(ValueError, match="no stage 'layer5'"):
        enable_gradient_checkpointing(model.backbone, ('layer5', ))
