import os
import subprocess
import sys

import learn2learn as l2l
import numpy as np
import pytest
import torch

from brnpa_plugins.fewshot import (build_dataset, build_taskset,
                                   build_transform, split_episode, tiny_data)
from brnpa_plugins.fewshot.data import (BENCHMARKS, check_root,
                                        labels_to_indices)

from .conftest import REPO


def test_learn2learn_reads_the_tiny_pickles(pickle_root):
    dataset = l2l.vision.datasets.MiniImagenet(pickle_root, 'validation')
    assert len(dataset) == 5 * 15
    image, label = dataset[20]
    assert image.shape == (3, 32, 32) and label == 1


@pytest.mark.parametrize('fixture, benchmark', [('pickle_root',
                                                 'mini-imagenet'),
                                                ('folder_root', 'folder')])
def test_episodes_come_from_a_learn2learn_taskdataset(request, fixture,
                                                      benchmark):
    root = request.getfixturevalue(fixture)
    transform = build_transform(32, pixels_0_255=benchmark != 'folder')
    dataset = build_dataset(benchmark, root, 'train', transform)
    assert isinstance(dataset, l2l.data.MetaDataset)
    assert len(dataset.labels) == 8
    taskset = build_taskset(dataset, ways=5, shots=2, queries=3)
    assert isinstance(taskset, l2l.data.TaskDataset)
    episode = split_episode(taskset.sample(), shots=2)
    assert episode.support.shape == (10, 3, 32, 32)
    assert episode.query.shape == (15, 3, 32, 32)
    assert torch.equal(episode.support_labels,
                       torch.arange(5).repeat_interleave(2))
    assert torch.equal(episode.query_labels,
                       torch.arange(5).repeat_interleave(3))
    # Normalised with the ImageNet statistics: roughly centred pixels.
    assert -3 < episode.support.mean() < 3


@pytest.mark.parametrize('benchmark, writer', [
    ('tiered-imagenet', 'write_tiered_imagenet'),
    ('fc100', 'write_fc100'),
    # CIFAR-FS after learn2learn split it: class folders per split.
    ('cifarfs', 'write_image_folder'),
])
def test_other_benchmarks_load_through_their_learn2learn_class(
        tmp_path, tiny_splits, benchmark, writer, pickle_root):
    root = str(tmp_path)
    data_root = os.path.join(root, 'cifarfs', 'processed') \
        if benchmark == 'cifarfs' else root
    getattr(tiny_data, writer)(data_root, tiny_splits)
    dataset = build_dataset(benchmark, root, 'test', build_transform(32))
    reference = build_dataset('mini-imagenet', pickle_root, 'test',
                              build_transform(32, pixels_0_255=True))
    assert type(dataset.dataset).__name__ == \
        BENCHMARKS[benchmark].dataset_class
    assert len(dataset.labels) == 5
    assert torch.allclose(dataset[17][0], reference[17][0], atol=1e-5)
    episode = split_episode(build_taskset(dataset, 5, 1, 2).sample(), 1)
    assert torch.equal(episode.query_labels,
                       torch.arange(5).repeat_interleave(2))


def test_both_formats_give_the_same_pixels(pickle_root, folder_root):
    pickled = build_dataset('mini-imagenet', pickle_root, 'test',
                            build_transform(32, pixels_0_255=True))
    folder = build_dataset('folder', folder_root, 'test',
                           build_transform(32))
    assert torch.allclose(pickled[17][0], folder[17][0], atol=1e-5)


def test_learn2learn_bookkeeping_is_not_written_into_the_root(pickle_root):
    build_dataset('mini-imagenet', pickle_root, 'test')
    assert not any('bookkeeping' in name for name in os.listdir(pickle_root))


def test_labels_to_indices_groups_images_by_class():
    groups = labels_to_indices(np.array([7, 3, 7, 3, 9]))
    assert groups == {3: [1, 3], 7: [0, 2], 9: [4]}


def test_augmentation_changes_the_image(pickle_root):
    torch.manual_seed(0)
    dataset = build_dataset('mini-imagenet', pickle_root, 'train',
                            build_transform(32, augment=True,
                                            pixels_0_255=True))
    assert not torch.equal(dataset[0][0], dataset[0][0])


@pytest.mark.parametrize('benchmark, expected', [
    ('mini-imagenet', 'mini-imagenet-cache-train.pkl, '
     'mini-imagenet-cache-validation.pkl, mini-imagenet-cache-test.pkl'),
    ('tiered-imagenet', 'tiered-imagenet/train_images_png.pkl'),
    ('fc100', 'FC100_train.pickle, FC100_val.pickle'),
    ('cifarfs', 'cifarfs/processed/train'),
    ('folder', 'train, val, test'),
])
def test_a_missing_root_names_the_expected_files(tmp_path, benchmark,
                                                 expected):
    root = tmp_path / 'nowhere'
    with pytest.raises(FileNotFoundError, match='missing') as error:
        check_root(benchmark, str(root))
    assert expected in str(error.value)
    assert str(root) in str(error.value)
    # Nothing was created (learn2learn's classes make the root folder).
    assert not root.exists()


def test_build_dataset_checks_before_learn2learn_downloads(tmp_path):
    with pytest.raises(FileNotFoundError,
                       match='mini-imagenet-cache-test.pkl'):
        build_dataset('mini-imagenet', str(tmp_path / 'missing'), 'test')
    assert not (tmp_path / 'missing').exists()


def test_a_partial_root_names_only_what_is_missing(pickle_root, tmp_path):
    os.symlink(os.path.join(pickle_root, 'mini-imagenet-cache-train.pkl'),
               tmp_path / 'mini-imagenet-cache-train.pkl')
    with pytest.raises(FileNotFoundError) as error:
        check_root('mini-imagenet', str(tmp_path))
    message = str(error.value)
    assert 'missing mini-imagenet-cache-validation.pkl, ' \
        'mini-imagenet-cache-test.pkl.' in message


def test_unknown_benchmark_lists_the_known_ones(tmp_path):
    with pytest.raises(ValueError, match='unknown few-shot benchmark') as e:
        check_root('omniglot-ish', str(tmp_path))
    for name in ('mini-imagenet', 'tiered-imagenet', 'cifarfs', 'fc100',
                 'folder'):
        assert repr(name) in str(e.value)


@pytest.mark.parametrize('kwargs, match', [
    (dict(ways=9, shots=1, queries=1), '9 classes but this split has 8'),
    (dict(ways=5, shots=10, queries=10), 'smallest class of this split has '
     '15'),
    (dict(ways=5, shots=0, queries=1), 'shots must be a positive integer'),
])
def test_impossible_episodes_are_explained(pickle_root, kwargs, match):
    dataset = build_dataset('mini-imagenet', pickle_root, 'train')
    with pytest.raises(ValueError, match=match):
        build_taskset(dataset, **kwargs)


def test_the_tiny_data_tool_writes_every_format(tmp_path):
    """tools/make_tiny_fewshot_data.py, run as users run it."""
    out = tmp_path / 'tiny'
    tool = [sys.executable, f'{REPO}/tools/make_tiny_fewshot_data.py',
            str(out), '--images-per-class', '4']
    result = subprocess.run(tool, capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert sorted(os.listdir(out)) == sorted(tiny_data.FORMATS)
    for benchmark, folder in (('mini-imagenet', 'pickle'),
                              ('tiered-imagenet', 'tiered'),
                              ('fc100', 'fc100'), ('cifarfs', 'cifarfs'),
                              ('omniglot', 'omniglot'),
                              ('folder', 'folder')):
        check_root(benchmark, str(out / folder))
    assert len(os.listdir(out / 'folder' / 'train' / 'n00000000')) == 4
    again = subprocess.run(tool, capture_output=True, text=True, cwd=REPO)
    assert again.returncode == 2 and 'exists already' in again.stderr
    # Nothing half-written beside it.
    assert os.listdir(tmp_path) == ['tiny']
