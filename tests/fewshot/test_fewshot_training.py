import math

import pytest
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from brnpa_plugins.core import distillation_loss
from brnpa_plugins.fewshot import (BaseClassifier, BRNPAProtoNet,
                                   build_dataset, build_distillation,
                                   build_taskset, build_transform,
                                   confidence_interval, episode_loss,
                                   evaluate, percent_result, pretrain_epoch,
                                   split_episode, train_episodes)
from brnpa_plugins.fewshot.training import python_random_seed

TINY = dict(widths=(8, 16, 32, 64))


@pytest.fixture(scope='module')
def tasksets(pickle_root):
    transform = build_transform(32, pixels_0_255=True)
    return {split: build_taskset(build_dataset('mini-imagenet', pickle_root,
                                               split, transform),
                                 ways=5, shots=2, queries=3)
            for split in ('train', 'test')}


def fixed_episodes(taskset, count=3):
    with python_random_seed(123):
        return [split_episode(taskset.sample(), 2) for _ in range(count)]


def mean_loss(model, episodes, distillation=None):
    with torch.no_grad():
        return sum(episode_loss(model, e, distillation)[0].item()
                   for e in episodes) / len(episodes)


def test_a_few_training_episodes_lower_the_loss(tasksets):
    torch.manual_seed(0)
    model = BRNPAProtoNet(**TINY).train()
    episodes = fixed_episodes(tasksets['train'])
    before = mean_loss(model, episodes)
    optimizer = torch.optim.Adam(model.parameters(), 1e-3)
    with python_random_seed(0):
        stats = train_episodes(model, tasksets['train'], 2, optimizer,
                               num_episodes=12, progress=False)
    model.train()
    assert mean_loss(model, episodes) < 0.8 * before
    assert math.isfinite(stats.loss) and 0 <= stats.accuracy <= 1


def test_evaluation_reports_accuracy_and_confidence_interval(tasksets):
    model = BRNPAProtoNet(**TINY)
    first = evaluate(model, tasksets['test'], 2, num_episodes=6, seed=5,
                     progress=False)
    again = evaluate(model, tasksets['test'], 2, num_episodes=6, seed=5,
                     progress=False)
    assert first.episodes == 6
    assert 0 <= first.mean <= 1 and first.ci95 >= 0
    assert first == again  # the same seed gives the same episodes


def test_confidence_interval_is_the_student_95_percent_half_width():
    from scipy import stats
    values = torch.tensor([0.2, 0.4, 0.6, 0.8])
    result = confidence_interval(values)
    assert result.mean == pytest.approx(0.5)
    assert result.ci95 == pytest.approx(
        stats.t.ppf(0.975, 3) * values.std().item() / 2, rel=1e-6)
    assert confidence_interval(torch.tensor([0.7])).ci95 == 0.0


def test_results_are_printed_in_percent_as_papers_do():
    result = percent_result(confidence_interval(
        torch.tensor([0.6, 0.62, 0.64, 0.66])))
    assert result['accuracy_pct'] == pytest.approx(63.0)
    assert result['result'] == \
        f"63.0 \u00b1 {result['ci95_pct']:.1f}"
    assert result['ci95_pct'] == pytest.approx(100 * confidence_interval(
        torch.tensor([0.6, 0.62, 0.64, 0.66])).ci95)
    assert percent_result(confidence_interval(torch.tensor([0.5])),
                          decimals=2)['result'] == '50.00 \u00b1 0.00'


def test_distillation_uses_the_core_loss_on_episode_logits(tasksets):
    torch.manual_seed(0)
    student = BRNPAProtoNet(**TINY).eval()
    teacher = BRNPAProtoNet(high_resolution=False, pooling='average', **TINY)
    kd = build_distillation(teacher, temperature=4.0, alpha=0.3)
    assert not teacher.training
    assert not any(p.requires_grad for p in teacher.parameters())
    episode = fixed_episodes(tasksets['train'], 1)[0]
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
    dataset = build_dataset('mini-imagenet', pickle_root, 'validation',
                            build_transform(32, pixels_0_255=True))
    # The validation classes are labelled 0..4 by learn2learn; shift them to
    # check that any labels are mapped to 0..K-1 through the lookup table.
    lookup = torch.full((10, ), -1, dtype=torch.long)
    lookup[:5] = torch.arange(5)
    model = BRNPAProtoNet(**TINY)
    classifier = BaseClassifier(model, num_classes=5, dropout=0.1)
    assert classifier.fc.in_features == 3 * 64
    assert classifier.fc.bias is None
    loader = DataLoader(dataset, batch_size=25, shuffle=True)
    optimizer = torch.optim.Adam(classifier.parameters(), 3e-3)
    losses = [pretrain_epoch(classifier, loader, lookup, optimizer,
                             progress=False).loss for _ in range(3)]
    assert losses[-1] < losses[0]


def test_classifier_arguments_are_checked():
    with pytest.raises(ValueError, match='num_classes'):
        BaseClassifier(BRNPAProtoNet(**TINY), num_classes=1)
    with pytest.raises(ValueError, match='dropout'):
        BaseClassifier(BRNPAProtoNet(**TINY), num_classes=5, dropout=1.0)
    with pytest.raises(ValueError, match=r"BaseClassifier: dropout must be a "
                       r"number in \[0, 1\), got 'x'; set model.dropout"):
        BaseClassifier(BRNPAProtoNet(**TINY), num_classes=5, dropout='x')
