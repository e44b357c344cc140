"""The OpenMMLab benchmark reads a planted marker's box for the shortcut
scores of every row."""
import os

import numpy as np
import pytest
import torch

from brnpa_plugins.data import SyntheticPartsConfig, generate_part_dataset
from brnpa_plugins.data.markers import marker_box
from brnpa_plugins.openmmlab.benchmark import SceneTruth


def samples_of(root, scale=1):
    from mmpretrain.structures import DataSample
    with open(os.path.join(root, 'images.txt')) as stream:
        paths = [line.split()[1] for line in stream]
    with open(os.path.join(root, 'train_test_split.txt')) as stream:
        train = [line.split()[1] == '1' for line in stream]
    size = 96
    samples = [DataSample(metainfo=dict(
        img_path=os.path.join(root, 'images', path),
        ori_shape=(size, size), img_shape=(size * scale, size * scale)))
        for path in paths]
    return samples, np.array(train)


@pytest.mark.parametrize('scale', [1, 2])
def test_the_marker_box_is_the_shortcut_of_images_that_show_it(tmp_path,
                                                                scale):
    config = SyntheticPartsConfig(num_classes=2, train_per_class=2,
                                  test_per_class=2, shortcut='marker',
                                  shortcut_test='removed')
    root = generate_part_dataset(str(tmp_path / 'm'), config)
    samples, train = samples_of(root, scale)
    shortcut = SceneTruth(root).shortcut(samples)
    box = torch.tensor(marker_box(config.part_size), dtype=torch.float32)
    assert torch.equal(shortcut.boxes[:, 0],
                       (box * scale).expand(len(samples), 4))
    assert shortcut.decisive[:, 0].numpy().tolist() == train.tolist()
    plain = generate_part_dataset(
        str(tmp_path / 'p'), SyntheticPartsConfig(num_classes=2,
                                                  train_per_class=1,
                                                  test_per_class=1))
    assert SceneTruth(plain).shortcut(samples_of(plain)[0]) is None
