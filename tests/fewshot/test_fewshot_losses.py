"""The episode loss (cross-entropy or distillation) and the base-class
loss, trained by a few optimiser steps on the tiny data."""
import pytest
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from brnpa_plugins.core import distillation_loss
from brnpa_plugins.fewshot import (BaseClassifier, BRNPABaseClassDataset,
                                   BRNPAProtoNet, build_dataset,
                                   build_distillation, build_taskset,
                                   build_transform, episode_loss,
                                   split_episode)
from brnpa_plugins.fewshot.losses import pretrain_loss
from brnpa_plugins.fewshot.seeding import python_random_seed

TINY = dict(widths=(8, 16, 32, 64))


@pytest.fixture(scope='module')
def taskset(pickle_root):
    transform = build_transform(32, pixels_0_255=True)
    return build_taskset(build_dataset('mini-imagenet', pickle_root, 'train',
                                       transform), ways=5, shots=2, queries=3)


def fixed_episodes(taskset, count=3, seed=123):
    with python_random_seed(seed):
        return [split_episode(taskset.sample(), 2) for _ in range(count)]


def mean_loss(model, episodes, distillation=None):
    with torch.no_grad():
        return sum(episode_loss(model, e, distillation)[0].item()
                   for e in episodes) / len(episodes)


def test_a_few_training_episodes_lower_the_loss(taskset):
    torch.manual_seed(0)
    model = BRNPAProtoNet(**TINY).train()
    episodes = fixed_episodes(taskset)
    before = mean_loss(model, episodes)
    optimizer = torch.optim.Adam(model.parameters(), 1e-3)
    for episode in fixed_episodes(taskset, count=12, seed=0):
        loss, logits = episode_loss(model, episode)
        assert logits.shape == (15, 5)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert mean_loss(model, episodes) < 0.8 * before


def test_distillation_uses_the_core_loss_on_episode_logits(taskset):
    torch.manual_seed(0)
    student = BRNPAProtoNet(**TINY).eval()
    teacher = BRNPAProtoNet(high_resolution=False, pooling='average', **TINY)
    kd = build_distillation(teacher, temperature=4.0, alpha=0.3)
    assert not teacher.training
    assert not any(p.requires_grad for p in teacher.parameters())
    episode = fixed_episodes(taskset, 1)[0]
    loss, logits = episode_loss(student, episode, kd)
    inputs = (episode.support, episode.support_labels, episode.query)
    expected = distillation_loss(student(*inputs), teacher(*inputs),
                                 episode.query_labels, 4.0, 0.3)
    assert torch.allclose(loss, expected)
    assert not torch.allclose(loss, F.cross_entropy(logits,
                                                    episode.query_labels))
    with pytest.raises(ValueError, match='alpha must lie in'):
        build_distillation(teacher, alpha=2.0)


def test_pretraining_classifies_all_base_classes(pickle_root):
    torch.manual_seed(0)
    # The validation split: learn2learn labels its classes 0..4 too, but
    # the dataset numbers any labels 0..K-1.
    dataset = BRNPABaseClassDataset('mini-imagenet', pickle_root,
                                    'validation', image_size=32,
                                    augment=False)
    assert dataset.num_classes == 5
    classifier = BaseClassifier(BRNPAProtoNet(**TINY), num_classes=5,
                                dropout=0.1)
    assert classifier.fc.in_features == 3 * 64
    assert classifier.fc.bias is None
    loader = DataLoader(dataset, batch_size=25, shuffle=True)
    optimizer = torch.optim.Adam(classifier.parameters(), 3e-3)
    losses = []
    for _ in range(3):
        total = 0.0
        for batch in loader:
            loss, _ = pretrain_loss(classifier, batch['inputs'],
                                    batch['data_samples'])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item()
        losses.append(total / len(loader))
    assert losses[-1] < losses[0]
    with pytest.raises(ValueError, match='set model.num_classes'):
        pretrain_loss(classifier, batch['inputs'][:2], torch.tensor([0, 5]))


def test_classifier_arguments_are_checked():
    with pytest.raises(ValueError, match='num_classes'):
        BaseClassifier(BRNPAProtoNet(**TINY), num_classes=1)
    with pytest.raises(ValueError, match='dropout'):
        BaseClassifier(BRNPAProtoNet(**TINY), num_classes=5, dropout=1.0)
    with pytest.raises(ValueError, match=r"BaseClassifier: dropout must be a "
                       r"number in \[0, 1\), got 'x'; set model.dropout"):
        BaseClassifier(BRNPAProtoNet(**TINY), num_classes=5, dropout='x')
