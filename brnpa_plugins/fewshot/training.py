"""Training and evaluation loops: base-class pre-training, episodes, tests.

Each function runs one loop, or computes one loss, and reports what
happened; mmengine's Runner (:mod:`brnpa_plugins.fewshot.engine`) decides
when to validate, checkpoint or stop. The loops also serve custom training
code.
"""
import contextlib
import math
import random
from typing import Iterator, NamedTuple, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm import tqdm

from ..core import check_distillation_args, distillation_loss
from .episodes import Episode, split_episode


class Accuracy(NamedTuple):
    """Mean episode accuracy and the half-width of its 95% interval."""
    mean: float
    ci95: float
    episodes: int


class Distillation(NamedTuple):
    """A frozen teacher and the Hinton KD settings (spec sections 2 and 6)."""
    teacher: nn.Module
    temperature: float = 1.0
    alpha: float = 1.0


def confidence_interval(values: Tensor) -> Accuracy:
    """Mean accuracy over episodes and the half-width of its 95% interval
    (Student t, :func:`brnpa_plugins.evaluation.statistics.mean_interval`;
    0 for a single episode)."""
    from ..evaluation.statistics import mean_interval
    interval = mean_interval(values.double().cpu().numpy())
    half = (interval.high - interval.low) / 2
    return Accuracy(interval.mean, half if math.isfinite(half) else 0.0,
                    interval.count)


def percent_result(accuracy: Accuracy, decimals: int = 1) -> dict:
    """An accuracy in percent, as papers print it.

    Returns:
        ``{'accuracy_pct': mean in %, 'ci95_pct': half-width of the 95%
        interval in %, 'result': '62.3 ± 0.8'}`` (``decimals`` places in
        ``result``; the two numbers are not rounded).
    """
    return format_result(100 * accuracy.mean, 100 * accuracy.ci95, decimals)


def format_result(mean_pct: float, ci95_pct: float,
                  decimals: int = 1) -> dict:
    """``{'accuracy_pct', 'ci95_pct', 'result'}`` of an accuracy already in
    percent (see :func:`percent_result`)."""
    return {'accuracy_pct': mean_pct, 'ci95_pct': ci95_pct,
            'result': f'{mean_pct:.{decimals}f} \u00b1 '
                      f'{ci95_pct:.{decimals}f}'}


@contextlib.contextmanager
def python_random_seed(seed: int) -> Iterator[None]:
    """Seed Python's ``random`` (learn2learn samples with it) for a block.

    The previous state comes back afterwards, so that evaluating on a fixed
    set of episodes does not change the training episodes that follow.
    """
    state = random.getstate()
    random.seed(seed)
    try:
        yield
    finally:
        random.setstate(state)


def episode_loss(model: nn.Module,
                 episode: Episode,
                 distillation: Optional[Distillation] = None):
    """Loss and logits of one episode.

    Args:
        model: The few-shot learner.
        episode: Support and query images with their labels.
        distillation: With a teacher, the loss is
            :func:`~brnpa_plugins.core.distillation_loss` between the
            learner's and the teacher's query logits; without one, it is the
            cross-entropy of the query logits.

    Returns:
        ``(loss, logits)``.
    """
    logits = model(episode.support, episode.support_labels, episode.query)
    if distillation is None:
        return F.cross_entropy(logits, episode.query_labels), logits
    with torch.no_grad():
        teacher_logits = distillation.teacher(
            episode.support, episode.support_labels, episode.query)
    loss = distillation_loss(logits, teacher_logits, episode.query_labels,
                             distillation.temperature, distillation.alpha)
    return loss, logits


def build_distillation(teacher: nn.Module, temperature: float = 1.0,
                       alpha: float = 1.0) -> Distillation:
    """Freeze ``teacher`` (eval mode, no gradients) and check the settings.

    Args:
        teacher: A trained learner with the same ways as the student.
        temperature: Softening temperature T > 0.
        alpha: Weight of the distillation term, in [0, 1].
    """
    check_distillation_args(temperature, alpha)
    teacher.eval().requires_grad_(False)
    return Distillation(teacher, temperature, alpha)


def _accuracy(logits: Tensor, labels: Tensor) -> Tensor:
    return (logits.argmax(dim=1) == labels).float().mean()


class TrainStats(NamedTuple):
    """Mean loss and training accuracy over a run of steps."""
    loss: float
    accuracy: float


def _optimise(batches, num_steps: int, forward, optimizer, scheduler,
              desc: str, progress: bool) -> TrainStats:
    """Run ``forward(batch) -> (loss, logits, targets)`` and an optimiser
    step on each batch; the scheduler (if any) steps after each batch."""
    losses, accuracies = [], []
    bar = tqdm(batches, total=num_steps, desc=desc, disable=not progress,
               leave=False)
    for batch in bar:
        loss, logits, targets = forward(batch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        losses.append(loss.detach())
        accuracies.append(_accuracy(logits.detach(), targets))
        bar.set_postfix(loss=f'{losses[-1].item():.3f}')
    return TrainStats(torch.stack(losses).mean().item(),
                      torch.stack(accuracies).mean().item())


def train_episodes(model: nn.Module,
                   taskset,
                   shots: int,
                   optimizer: torch.optim.Optimizer,
                   scheduler=None,
                   num_episodes: int = 1,
                   distillation: Optional[Distillation] = None,
                   device=None,
                   progress: bool = True) -> TrainStats:
    """Train the learner on ``num_episodes`` episodes.

    Args:
        model: The few-shot learner.
        taskset: A learn2learn TaskDataset of (K + Q)-shot tasks.
        shots: Support images per class K.
        optimizer: Optimiser of the learner's parameters.
        scheduler: Optional learning-rate scheduler, stepped every episode.
        num_episodes: How many episodes to train on.
        distillation: Teacher and KD settings; None trains with
            cross-entropy.
        device: Where the episodes go.
        progress: Show a progress bar.
    """
    model.train()
    episodes = (split_episode(taskset.sample(), shots, device)
                for _ in range(num_episodes))

    def forward(episode: Episode):
        loss, logits = episode_loss(model, episode, distillation)
        return loss, logits, episode.query_labels

    return _optimise(episodes, num_episodes, forward, optimizer, scheduler,
                     'episodes', progress)


@torch.no_grad()
def evaluate(model: nn.Module,
             taskset,
             shots: int,
             num_episodes: int = 600,
             seed: int = 0,
             device=None,
             progress: bool = True) -> Accuracy:
    """Mean query accuracy over ``num_episodes`` episodes, with its 95% CI.

    Args:
        model: The few-shot learner (evaluated in eval mode).
        taskset: A learn2learn TaskDataset of (K + Q)-shot tasks.
        shots: Support images per class K.
        num_episodes: How many episodes to average over.
        seed: Seeds Python's ``random`` (learn2learn samples with it) for
            these episodes only, so every evaluation with the same seed sees
            the same episodes.
        device: Where the episodes go.
        progress: Show a progress bar.
    """
    model.eval()
    accuracies = []
    with python_random_seed(seed):
        for _ in tqdm(range(num_episodes), desc='evaluation',
                      disable=not progress, leave=False):
            episode = split_episode(taskset.sample(), shots, device)
            logits = model(episode.support, episode.support_labels,
                           episode.query)
            accuracies.append(_accuracy(logits, episode.query_labels))
    return confidence_interval(torch.stack(accuracies).cpu())


def pretrain_epoch(classifier: nn.Module,
                   loader,
                   label_lookup: Tensor,
                   optimizer: torch.optim.Optimizer,
                   device=None,
                   progress: bool = True) -> TrainStats:
    """One epoch of standard classification of all base classes.

    Args:
        classifier: A :class:`~.classifier.BaseClassifier`.
        loader: Batches of (images, dataset labels).
        label_lookup: Maps each dataset label to its class index 0..K-1.
        optimizer: Optimiser of the classifier (learner included).
        device: Where the batches go.
        progress: Show a progress bar.
    """
    classifier.train()

    def forward(batch):
        images, labels = batch
        targets = label_lookup[labels].to(device)
        loss, logits = pretrain_loss(classifier, images.to(device), targets)
        return loss, logits, targets

    return _optimise(loader, len(loader), forward, optimizer, None,
                     'pre-training', progress)


def pretrain_loss(classifier: nn.Module, images: Tensor, targets: Tensor):
    """Cross-entropy of the base-class logits of a batch.

    Args:
        classifier: A :class:`~.classifier.BaseClassifier`.
        images: B x C x H x W.
        targets: The class index 0..K-1 of each image.

    Returns:
        ``(loss, logits)``.
    """
    logits = classifier(images)
    num_classes = logits.shape[1]
    if targets.numel() and not 0 <= int(targets.min()) <= int(
            targets.max()) < num_classes:
        raise ValueError(
            f'a base-class label is outside 0..{num_classes - 1}: the '
            f'classifier has {num_classes} outputs; set model.num_classes to '
            'the number of training classes of the data set.')
    return F.cross_entropy(logits, targets), logits
