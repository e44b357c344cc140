"""The training losses: of an episode (cross-entropy of the queries, or
distillation from a frozen teacher) and of a base-class batch."""
from typing import NamedTuple, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..core import check_distillation_args, distillation_loss
from .episodes import Episode


class Distillation(NamedTuple):
    """A frozen teacher and the Hinton KD settings (spec sections 2 and 6)."""
    teacher: nn.Module
    temperature: float = 1.0
    alpha: float = 1.0


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
