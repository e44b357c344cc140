"""The episodes are those of learn2learn's own benchmark code on the same
seeds: its get_tasksets for mini-ImageNet, and its Omniglot inversion and
RandomClassRotation."""
import os
import random
import shutil

import learn2learn as l2l
import torch
from mmengine.config import Config
from learn2learn.data.transforms import (ConsecutiveLabels, KShots, LoadData,
                                         NWays, RemapLabels)
from learn2learn.vision.transforms import RandomClassRotation

from brnpa_plugins.fewshot import (BRNPAEpisodeDataset, build_dataset,
                                   build_transform, split_episode, tiny_data)
from brnpa_plugins.fewshot.seeding import episode_seed

from .conftest import CONFIG_DIR

TINY_SPLIT = (8, 5, 5)
OMNIGLOT_ROTATIONS = [0.0, 90.0, 180.0, 270.0]


def omniglot_episodes(root, **options):
    return BRNPAEpisodeDataset('omniglot', root, 'train', ways=4, shots=1,
                               queries=2, num_episodes=6, image_size=28,
                               mean=(0.5, ), std=(0.5, ),
                               class_split=TINY_SPLIT, **options)


def episode_images(dataset, index):
    item = dataset[index]
    return torch.cat([item['inputs']['support'], item['inputs']['query']])


def test_mini_imagenet_episodes_are_get_tasksets_ones(pickle_root, tmp_path):
    # get_tasksets writes its bookkeeping next to the data: a copy.
    root = str(tmp_path / 'mini')
    shutil.copytree(pickle_root, root)
    tasksets = l2l.vision.benchmarks.get_tasksets(
        'mini-imagenet', train_ways=3, train_samples=3, test_ways=3,
        test_samples=3, root=root)
    # No normalisation: learn2learn's mini-ImageNet gives 0..255 pixels.
    dataset = BRNPAEpisodeDataset('mini-imagenet', root, 'train', ways=3,
                                  shots=1, queries=2, num_episodes=None,
                                  seed=3, image_size=32, mean=(0, 0, 0),
                                  std=(1, 1, 1))
    for index in (0, 1, 7, 10**6):
        random.seed(episode_seed(3, index))
        expected = split_episode(tasksets.train.sample(), 1)
        item = dataset[index]
        torch.testing.assert_close(item['inputs']['support'],
                                   expected.support / 255)
        torch.testing.assert_close(item['inputs']['query'],
                                   expected.query / 255)
        assert torch.equal(item['data_samples']['query_labels'],
                           expected.query_labels)


def test_omniglot_is_inverted_and_rotated_as_learn2learn(omniglot_root):
    dataset = omniglot_episodes(omniglot_root)
    # learn2learn's Omniglot pipeline on the same split and seeds: the
    # pixels 1 - x, then its RandomClassRotation after the task transforms.
    split = build_dataset('omniglot', omniglot_root, 'train',
                          build_transform(28, (0.5, ), (0.5, ), channels=1,
                                          invert=True),
                          class_split=TINY_SPLIT)
    taskset = l2l.data.TaskDataset(split, [
        NWays(split, 4), KShots(split, 3), LoadData(split),
        RemapLabels(split), ConsecutiveLabels(split),
        RandomClassRotation(split, OMNIGLOT_ROTATIONS)], num_tasks=-1)
    for index in range(len(dataset)):
        random.seed(episode_seed(0, index))
        expected = split_episode(taskset.sample(), 1)
        torch.testing.assert_close(episode_images(dataset, index), torch.cat(
            [expected.support, expected.query]))

    plain = omniglot_episodes(omniglot_root, invert=False,
                              class_rotations=())
    # The inversion: white strokes on black, 1 - x before the normalisation
    # (at the images' own 32 px: no resizing).
    full_size = build_dataset('omniglot', omniglot_root, 'train',
                              build_transform(32, (0.5, ), (0.5, ),
                                              channels=1, invert=True),
                              class_split=TINY_SPLIT)
    image, label = full_size[0]
    raw = tiny_data.omniglot_classes(tiny_data.make_splits())[label][0]
    torch.testing.assert_close(image[0], torch.from_numpy(
        1.0 - raw / 127.5).float(), atol=1e-5, rtol=0)
    not_inverted = omniglot_episodes(omniglot_root, class_rotations=())
    for index in range(len(dataset)):
        torch.testing.assert_close(
            episode_images(not_inverted, index),
            -episode_images(plain, index), atol=1e-5, rtol=0)
    # The rotations: a quarter turn k of the plain episode. learn2learn 0.2.0
    # turns every image of a task by the angle drawn for its last class (its
    # transform binds the rotation late); a test that notices when it
    # rotates class by class.
    turns = []
    for index in range(len(dataset)):
        rotated = episode_images(dataset, index)
        straight = -episode_images(plain, index)
        per_image = {k for k in range(4) for i in range(len(rotated))
                     if torch.allclose(torch.rot90(straight[i], k, (1, 2)),
                                       rotated[i], atol=1e-5)}
        assert len(per_image) == 1, per_image
        turns += per_image
    assert len(set(turns)) > 1, turns


def test_the_omniglot_config_defaults_to_learn2learns_protocol():
    cfg = Config.fromfile(os.path.join(
        CONFIG_DIR, 'brnpa-protonet_resnet12_omniglot_5way-1shot.py'))
    for loader in ('train', 'val', 'test'):
        dataset = cfg[f'{loader}_dataloader'].dataset
        assert dataset.invert is True
        assert list(dataset.class_rotations) == OMNIGLOT_ROTATIONS
    pretrain = Config.fromfile(os.path.join(
        CONFIG_DIR, 'brnpa-pretrain_resnet12_1xb128-100e_omniglot.py'))
    assert pretrain.train_dataloader.dataset.invert is True


def test_other_benchmarks_are_not_rotated(pickle_root):
    dataset = BRNPAEpisodeDataset('mini-imagenet', pickle_root, 'train',
                                  ways=3, shots=1, queries=1, image_size=8,
                                  num_episodes=2)
    names = [type(t).__name__ for t in dataset.taskset.task_transforms]
    assert 'RandomClassRotation' not in names
    assert names[-1] == 'ConsecutiveLabels'
