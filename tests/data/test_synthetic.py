import filecmp
import os

import numpy as np
import pytest

from brnpa_plugins.data import (SyntheticPartsConfig, check_cub_root,
                                class_names, generate_part_dataset,
                                load_part_locations)
from brnpa_plugins.data.synthetic import class_parts, part_types

SMALL = SyntheticPartsConfig(num_classes=3, train_per_class=2,
                             test_per_class=2, image_size=48, part_size=10,
                             distractors=1, seed=7)


def test_same_seed_same_files(tmp_path):
    a = generate_part_dataset(str(tmp_path / 'a'), SMALL)
    b = generate_part_dataset(str(tmp_path / 'b'), SMALL)
    for name in ('images.txt', 'parts/part_locs.txt', 'bounding_boxes.txt'):
        assert filecmp.cmp(os.path.join(a, name), os.path.join(b, name),
                           shallow=False)
    with open(os.path.join(a, 'images.txt')) as stream:
        first = stream.readline().split()[1]
    assert filecmp.cmp(os.path.join(a, 'images', first),
                       os.path.join(b, 'images', first), shallow=False)


def test_loads_through_mmpretrain_cub(tmp_path):
    from mmpretrain.datasets import CUB
    root = generate_part_dataset(str(tmp_path / 'd'), SMALL)
    train = CUB(data_root=root, split='train',
                classes=f'{root}/class_names.txt')
    test = CUB(data_root=root, split='test', classes=f'{root}/class_names.txt')
    assert len(train) == 6 and len(test) == 6
    assert train.CLASSES == tuple(class_names(SMALL))
    assert sorted({train.get_gt_labels()[i] for i in range(6)}) == [0, 1, 2]
    assert os.path.isfile(train[0]['img_path'])


def test_part_locations_point_at_the_coloured_parts(tmp_path):
    from PIL import Image
    root = generate_part_dataset(str(tmp_path / 'd'), SMALL)
    parts = load_part_locations(root)
    assert len(parts) == 12
    for relative, points in parts.items():
        assert points.shape == (2, 2)  # two visible parts per image
        image = np.asarray(Image.open(os.path.join(root, 'images',
                                                   relative)).convert('RGB'))
        for x, y in points:
            pixel = image[int(y), int(x)].astype(int)
            # parts are saturated colours, clutter is grey
            assert pixel.max() - pixel.min() > 80, (relative, x, y, pixel)


@pytest.mark.parametrize('num_classes', [2, 5, 8])
def test_no_class_is_identified_by_shape_or_colour_alone(num_classes):
    types = part_types()
    pairs = class_parts(SyntheticPartsConfig(num_classes=num_classes))
    for attribute in (0, 1):  # shape, colour
        for value in {types[p][attribute] for pair in pairs for p in pair}:
            owners = [label for label, pair in enumerate(pairs)
                      if any(types[p][attribute] == value for p in pair)]
            assert len(owners) >= 2, (value, pairs)


def test_existing_folder_with_other_config_is_refused(tmp_path):
    root = str(tmp_path / 'd')
    generate_part_dataset(root, SMALL)
    other = SyntheticPartsConfig(**{**SMALL.__dict__, 'seed': 8})
    with pytest.raises(FileExistsError, match='overwrite'):
        generate_part_dataset(root, other)
    generate_part_dataset(root, other, overwrite=True)
    assert sorted(p for p in os.listdir(tmp_path)) == ['d']


def test_interrupted_generation_leaves_nothing(tmp_path, monkeypatch):
    from brnpa_plugins.data import synthetic

    def broken(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(synthetic, 'render_image', broken)
    with pytest.raises(KeyboardInterrupt):
        generate_part_dataset(str(tmp_path / 'd'), SMALL)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize('change, word', [(dict(num_classes=9), 'num_classes'),
                                          (dict(part_size=40), 'part_size'),
                                          (dict(test_per_class=0),
                                           'test_per_class')])
def test_bad_config_values_are_named(change, word, tmp_path):
    config = SyntheticPartsConfig(**{**SMALL.__dict__, **change})
    with pytest.raises(ValueError, match=word):
        generate_part_dataset(str(tmp_path / 'd'), config)


def test_missing_cub_root_names_the_layout(tmp_path):
    with pytest.raises(FileNotFoundError,
                       match=r'(?s)missing: .*images.txt.*Expected layout'):
        check_cub_root(str(tmp_path))
