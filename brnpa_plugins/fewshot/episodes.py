"""N-way K-shot episodes sampled by learn2learn.

A ``learn2learn.data.TaskDataset`` draws N classes (``NWays``), K + Q images
of each (``KShots``), loads them (``LoadData``), relabels the classes 0..N-1
(``RemapLabels``), groups the images by class (``ConsecutiveLabels``) and,
if asked, rotates them (``RandomClassRotation``, learn2learn's Omniglot);
:func:`split_episode` then cuts each class into K support and Q query images.
"""
from typing import NamedTuple, Optional, Sequence, Union

import torch
from torch import Tensor

from ..core.checks import check_positive_int


class Episode(NamedTuple):
    """One few-shot task, ready for ``BRNPAProtoNet``."""
    support: Tensor
    support_labels: Tensor
    query: Tensor
    query_labels: Tensor


def build_taskset(dataset, ways: int, shots: int, queries: int,
                  class_rotations: Sequence[float] = ()):
    """Endless N-way (K + Q)-shot tasks over a ``MetaDataset``.

    Args:
        dataset (learn2learn.data.MetaDataset): The split to sample from.
        ways (int): Classes per episode N.
        shots (int): Support images per class K.
        queries (int): Query images per class Q.
        class_rotations (Sequence[float]): Rotations (degrees) for
            learn2learn's ``RandomClassRotation``, last, as its Omniglot
            benchmark has them; empty: no rotation. In learn2learn 0.2.0
            every image of a task gets the rotation drawn for its last
            class (its transforms bind the rotation late). Defaults to ().
    """
    from learn2learn.data import TaskDataset
    from learn2learn.data.transforms import (ConsecutiveLabels, KShots,
                                             LoadData, NWays, RemapLabels)

    for name, value in (('ways', ways), ('shots', shots),
                        ('queries', queries)):
        check_positive_int(value, name)
    num_classes = len(dataset.labels)
    if ways > num_classes:
        raise ValueError(f'{ways}-way episodes need {ways} classes but this '
                         f'split has {num_classes}; lower ways.')
    smallest = min(len(i) for i in dataset.labels_to_indices.values())
    if shots + queries > smallest:
        raise ValueError(
            f'{shots} shots + {queries} queries need {shots + queries} images '
            f'per class but the smallest class of this split has {smallest}; '
            'lower shots or queries.')
    transforms = [
        NWays(dataset, ways),
        KShots(dataset, shots + queries),
        LoadData(dataset),
        RemapLabels(dataset),
        ConsecutiveLabels(dataset),
    ]
    if class_rotations:
        from learn2learn.vision.transforms import RandomClassRotation
        transforms.append(RandomClassRotation(
            dataset, [float(d) for d in class_rotations]))
    return TaskDataset(dataset, task_transforms=transforms, num_tasks=-1)


def split_episode(task, shots: int,
                  device: Optional[Union[str, torch.device]] = None
                  ) -> Episode:
    """Cut a learn2learn task ``(images, labels)`` into support and query.

    Every class must have the same number of images; the first ``shots`` of
    each class become its support images.
    """
    images, labels = task
    labels = torch.as_tensor(labels, dtype=torch.long)
    order = torch.argsort(labels, stable=True)
    images, labels = images[order], labels[order]
    counts = torch.bincount(labels)
    per_class = int(counts[0])
    if bool((counts != per_class).any()) or per_class <= shots:
        raise ValueError(
            f'an episode needs the same number (> shots={shots}) of images in '
            f'every class, got {counts.tolist()} images per class')
    is_support = torch.arange(len(labels)) % per_class < shots
    return Episode(*(t.to(device) for t in (
        images[is_support], labels[is_support], images[~is_support],
        labels[~is_support])))
