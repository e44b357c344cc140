"""mmpretrain's own vis_cam.py and get_flops.py on BR-NPA models."""
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from brnpa_plugins.openmmlab import compat
from brnpa_plugins.openmmlab.tools import find_mmpretrain_tool

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _helpers_train  # noqa: E402
from conftest import tiny_config  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def _tool(script, *args, **env):
    return subprocess.run(
        [sys.executable, os.path.join('tools', script), *map(str, args)],
        cwd=REPO, capture_output=True, text=True,
        env=dict(os.environ, **env))


def _tiny_model(kind, tiny_cub_root, tmp_path):
    """(config, checkpoint, image) of an untrained tiny BR-NPA model: the
    demo config, or the high-resolution distillation config of CUB."""
    work_dir = tmp_path / 'work_dir'
    if kind == 'demo':
        cfg = tiny_config(tiny_cub_root, work_dir)
    else:
        cfg = _helpers_train.tiny_config('brnpa-highres-kd_resnet50',
                                         tiny_cub_root, work_dir)
    config = str(tmp_path / 'tiny.py')
    cfg.dump(config)
    checkpoint = _helpers_train.save_random_weights(cfg,
                                                    tmp_path / 'tiny.pth')
    folder = os.path.join(tiny_cub_root, 'images')
    first = os.path.join(folder, sorted(os.listdir(folder))[0])
    image = os.path.join(first, sorted(os.listdir(first))[0])
    return config, checkpoint, image


@pytest.fixture
def tiny_model(tiny_cub_root, tmp_path):
    return _tiny_model('demo', tiny_cub_root, tmp_path)


def test_upstream_vis_cam_still_passes_use_cuda_to_grad_cam():
    # When this fails, mmpretrain or grad-cam changed: drop the patch
    # grad_cam_use_cuda from compat.TOOL_PATCHES.
    with open(find_mmpretrain_tool('visualization/vis_cam')) as file:
        assert 'use_cuda=use_cuda' in file.read()
    assert compat._grad_cam_needs_patch() is not None


@pytest.mark.parametrize('kind', ['demo', 'distiller'])
def test_vis_cam_draws_grad_cam_of_a_brnpa_model(kind, tiny_cub_root,
                                                 tmp_path):
    config, checkpoint, image = _tiny_model(kind, tiny_cub_root, tmp_path)
    out = tmp_path / 'cam.png'
    result = _tool('vis_cam.py', image, config, checkpoint, '--save-path',
                   out, '--device', 'cpu', '--target-category', '1')
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'backbone.layer4.1.bn2' in result.stdout  # the default layer
    drawn = np.asarray(Image.open(out).convert('RGB'), dtype=np.int16)
    source = np.asarray(Image.open(image).convert('RGB'), dtype=np.int16)
    assert drawn.shape == source.shape
    assert np.abs(drawn - source).mean() > 5


def test_vis_cam_fails_without_the_patch(tiny_model, tmp_path):
    config, checkpoint, image = tiny_model
    result = _tool('vis_cam.py', image, config, checkpoint, '--save-path',
                   tmp_path / 'cam.png',
                   BRNPA_COMPAT_DISABLE='grad_cam_use_cuda')
    assert result.returncode != 0
    assert "unexpected keyword argument 'use_cuda'" in result.stderr
    assert not (tmp_path / 'cam.png').exists()


def test_get_flops_counts_a_brnpa_model(tiny_model):
    result = _tool('get_flops.py', tiny_model[0], '--shape', 64)
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'Input shape: (3, 64, 64)' in result.stdout
    assert 'neck.brnpa' in result.stdout  # the neck is in extract_feat
    flops = next(line for line in result.stdout.splitlines()
                 if line.startswith('Flops: '))
    assert flops not in ('Flops: 0', 'Flops: 0.0')
