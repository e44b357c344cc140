"""BRNPAInferencer: predictions and ranked maps for paths, arrays, images."""
import os
import sys

import numpy as np
import pytest
import torch
from mmengine.dataset import Compose
from PIL import Image

from brnpa_plugins.openmmlab import BRNPAInferencer, explain_images
from mmpretrain.registry import TRANSFORMS

# The tests run with --import-mode=importlib: put the helpers on the path.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _helpers_train import (CROP, NUM_CLASSES,  # noqa: E402
                            save_random_weights, tiny_config, tiny_cub,
                            write_config)


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """A tiny high-res KD config (its teacher does not exist) and weights."""
    folder = tmp_path_factory.mktemp('api')
    data_root = tiny_cub(folder / 'data')
    cfg = tiny_config(
        'brnpa-highres-kd_resnet50', data_root, folder,
        teacher=dict(config=str(folder / 'missing.py'),
                     checkpoint=str(folder / 'missing.pth')))
    images = os.path.join(data_root, 'images')
    first_class = os.path.join(images, sorted(os.listdir(images))[0])
    return dict(config=write_config(cfg, folder / 'kd.py'),
                checkpoint=save_random_weights(cfg, folder / 'kd.pth'),
                image=os.path.join(first_class,
                                   sorted(os.listdir(first_class))[0]),
                cfg=cfg)


def test_paths_arrays_and_pil_images_in_batches(trained, tmp_path):
    path = trained['image']
    rgb = np.asarray(Image.open(path).convert('RGB'))
    bigger = np.ascontiguousarray(
        np.asarray(Image.fromarray(rgb).resize((90, 80)))[..., ::-1])
    inferencer = BRNPAInferencer(trained['config'],
                                 pretrained=trained['checkpoint'],
                                 device='cpu')
    results = inferencer([path, bigger, Image.fromarray(rgb)], batch_size=2,
                         render=True, show_dir=str(tmp_path / 'shown'))
    assert len(results) == 3
    for result in results:
        assert result['image'].shape == (CROP, CROP, 3)
        assert result['ranked_maps'].shape == (3, CROP, CROP)
        assert result['ranked_maps'].min() >= 0
        assert result['ranked_maps'].max() <= 1
        assert result['attention_maps'].shape == (3, CROP // 8, CROP // 8)
        np.testing.assert_allclose(result['attention_maps'].sum((1, 2)), 1,
                                   rtol=1e-4)
        assert result['feature_norm'].shape == (CROP // 8, CROP // 8)
        assert result['part_activity'].shape == (3, )
        assert 0 <= result['pred_label'] < NUM_CLASSES
        assert result['pred_score'] == pytest.approx(
            result['pred_scores'].max())
        assert isinstance(result['overlay'], Image.Image)
        # The head has no bias: the contributions sum to the logits, whose
        # softmax is the prediction.
        terms = result['part_contributions']
        assert terms.shape == (3, NUM_CLASSES)
        np.testing.assert_array_equal(result['pred_contributions'],
                                      terms[:, result['pred_label']])
        logits = torch.from_numpy(terms.sum(axis=0))
        np.testing.assert_allclose(logits.softmax(0).numpy(),
                                   result['pred_scores'], atol=1e-5)
    # The same picture given as a path and as a PIL image.
    np.testing.assert_array_equal(results[0]['image'], results[2]['image'])
    np.testing.assert_allclose(results[0]['ranked_maps'],
                               results[2]['ranked_maps'], atol=1e-5)
    assert len(os.listdir(tmp_path / 'shown')) == 3


def test_image_is_the_test_pipeline_output(trained):
    path = trained['image']
    pipeline = Compose([
        TRANSFORMS.build(t)
        for t in trained['cfg'].test_dataloader.dataset.pipeline
    ])
    seen = pipeline(dict(img_path=path))['inputs']  # BGR, C x H x W
    [result] = explain_images(trained['config'], [path],
                              pretrained=trained['checkpoint'])
    assert 'overlay' not in result
    np.testing.assert_array_equal(result['image'],
                                  seen.flip(0).permute(1, 2, 0).numpy())


def test_model_without_brnpa_maps_is_refused(tmp_path):
    cfg = tiny_config('resnet50-gap', 'unused', tmp_path)
    config = write_config(cfg, tmp_path / 'gap.py')
    inferencer = BRNPAInferencer(config, pretrained=False)
    with pytest.raises(ValueError, match='needs a BR-NPA model'):
        inferencer(np.zeros((64, 64, 3), dtype=np.uint8))
