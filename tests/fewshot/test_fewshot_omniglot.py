"""Omniglot (1-channel images) and CIFAR-FS's raw layout, through
learn2learn's datasets, TaskDataset and tools/train_fewshot.py."""
import json
import os

import learn2learn as l2l
import numpy as np
import pytest
import torch

from brnpa_plugins.fewshot import (BRNPAProtoNet, build_dataset,
                                   build_taskset, build_transform,
                                   split_episode, tiny_data)
from brnpa_plugins.fewshot.data import BENCHMARKS, check_root

from .conftest import CONFIG_DIR, tiny_options

OMNIGLOT = os.path.join(CONFIG_DIR,
                        'brnpa-protonet_resnet12_omniglot_5way-1shot.py')
TINY_SPLIT = (8, 5, 5)


def grey(size=32):
    return build_transform(size, (0.5, ), (0.5, ), channels=1)


def test_omniglot_splits_are_learn2learn_metadatasets(omniglot_root):
    splits = {split: build_dataset('omniglot', omniglot_root, split, grey(),
                                   class_split=TINY_SPLIT)
              for split in ('train', 'validation', 'test')}
    for split, dataset in splits.items():
        assert isinstance(dataset, l2l.data.FilteredMetaDataset)
        assert len(dataset.labels) == TINY_SPLIT[list(splits).index(split)]
    classes = [set(d.labels) for d in splits.values()]
    assert set.union(*classes) == set(range(18))
    assert sum(len(c) for c in classes) == 18
    # The same split every time (fixed seed), whatever the global RNG.
    np.random.seed(5)
    again = build_dataset('omniglot', omniglot_root, 'train', grey(),
                          class_split=TINY_SPLIT)
    assert again.labels == splits['train'].labels
    # FullOmniglot's numbering: background characters, then evaluation.
    image, label = splits['test'][0]
    assert image.shape == (1, 32, 32)
    expected = tiny_data.omniglot_classes(tiny_data.make_splits())[label][0]
    assert torch.allclose(image[0], torch.from_numpy(expected / 127.5 - 1.0
                                                     ).float(), atol=1e-5)


def test_omniglot_episodes_feed_a_one_channel_model(omniglot_root):
    dataset = build_dataset('omniglot', omniglot_root, 'train', grey(28),
                            class_split=TINY_SPLIT)
    taskset = build_taskset(dataset, ways=5, shots=1, queries=2)
    assert isinstance(taskset, l2l.data.TaskDataset)
    episode = split_episode(taskset.sample(), shots=1)
    assert episode.support.shape == (5, 1, 28, 28)
    model = BRNPAProtoNet(widths=(4, 6, 8, 10), in_channels=1)
    assert model(episode.support, episode.support_labels,
                 episode.query).shape == (10, 5)
    # learn2learn's own ResNet-12 for one channel: the channels are read
    # from its first convolution.
    l2l_model = BRNPAProtoNet(backbone=dict(
        type='learn2learn.vision.models.ResNet12Backbone', channels=1,
        dropblock_dropout=0.0, wider=False))
    assert l2l_model.backbone.in_channels == 1
    assert l2l_model(episode.support, episode.support_labels,
                     episode.query).shape == (10, 5)


def test_learn2learn_fullomniglot_wants_the_original_zips(omniglot_root):
    # Why the extracted folders are read directly: torchvision's Omniglot,
    # under FullOmniglot, checks the zip files' checksums.
    with pytest.raises(RuntimeError, match='not found or corrupted'):
        l2l.vision.datasets.FullOmniglot(omniglot_root, download=False)


def test_a_colour_image_becomes_grey_and_back():
    colour = torch.randint(0, 256, (3, 8, 8), dtype=torch.uint8)
    assert build_transform(8, (0.5, ), (0.5, ), channels=1)(
        colour).shape == (1, 8, 8)
    grey_image = torch.randint(0, 256, (1, 8, 8), dtype=torch.uint8)
    assert build_transform(8)(grey_image).shape == (3, 8, 8)


def test_a_mean_that_does_not_fit_the_channels_is_named():
    with pytest.raises(ValueError, match=r'dataset.mean has 3 values but the '
                       r'images have 1 channel\(s\).*dataset.mean=\(0.5,\)'):
        build_transform(28, channels=1)


def test_omniglot_without_data_names_the_folders(tmp_path):
    root = tmp_path / 'nowhere'
    with pytest.raises(FileNotFoundError) as error:
        build_dataset('omniglot', str(root), 'train')
    message = str(error.value)
    assert 'omniglot data not found' in message
    assert 'missing omniglot-py/images_background, ' \
        'omniglot-py/images_evaluation.' in message
    assert 'Downloads are disabled' in message
    assert not root.exists()


def test_too_few_characters_for_the_split(omniglot_root):
    with pytest.raises(ValueError, match=r'dataset.class_split=\(1100, 100, '
                       r'423\) needs 1623 classes but the data has 18'):
        build_dataset('omniglot', omniglot_root, 'train')


def test_cifarfs_from_the_raw_archive_layout(tmp_path, tiny_splits,
                                             pickle_root):
    root = str(tmp_path)
    tiny_data.write_cifarfs_raw(root, tiny_splits)
    check_root('cifarfs', root)
    dataset = build_dataset('cifarfs', root, 'validation',
                            build_transform(32))
    assert type(dataset.dataset).__name__ == \
        BENCHMARKS['cifarfs'].dataset_class
    # learn2learn split the classes into cifarfs/processed/{train,val,test}.
    assert sorted(os.listdir(tmp_path / 'cifarfs' / 'processed')) == [
        'test', 'train', 'val']
    reference = build_dataset('mini-imagenet', pickle_root, 'validation',
                              build_transform(32, pixels_0_255=True))
    assert len(dataset.labels) == 5
    assert torch.allclose(dataset[33][0], reference[33][0], atol=1e-5)


PRETRAIN = os.path.join(CONFIG_DIR,
                        'brnpa-pretrain_resnet12_1xb128-100e_omniglot.py')
#: The tiny characters: 8 training, 5 validation, 5 test.
SPLIT_OPTIONS = [f'{loader}_dataloader.dataset.class_split={TINY_SPLIT}'
                 for loader in ('train', 'val', 'test')]


def test_the_omniglot_configs_pretrain_then_train(train_fewshot,
                                                  omniglot_root, tmp_path):
    """The 1-channel pre-training, then episodes from it."""
    train_fewshot([PRETRAIN, '--work-dir', str(tmp_path / 'pre'),
                   '--cfg-options', *tiny_options(omniglot_root,
                                                  pretrain=True),
                   *SPLIT_OPTIONS])
    path = tmp_path / 'pre' / 'epoch_1.pth'
    metrics = train_fewshot([
        OMNIGLOT, '--work-dir', str(tmp_path / 'episodes'), '--cfg-options',
        *tiny_options(omniglot_root, max_iters=2), *SPLIT_OPTIONS,
        f'model.pretrained={path}'])
    test = json.loads((tmp_path / 'episodes' / 'metrics.json').read_text())[
        'test']
    assert test['episodes'] == metrics['fewshot/episodes'] == 3
    assert 0 <= test['accuracy_pct'] <= 100
    assert len(os.listdir(tmp_path / 'episodes' / 'maps')) == 4
    weights = torch.load(path)['state_dict']
    assert weights['classifier.learner.backbone.layer1.0.body.0.0.weight'
                   ].shape[1] == 1  # one input channel
