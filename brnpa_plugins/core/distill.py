"""Knowledge distillation from a low-resolution teacher (spec section 2)."""
import numbers
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def check_distillation_args(temperature: float, alpha: float) -> None:
    """Raise a ValueError naming the bad value if T or alpha is out of range
    or not a number."""
    for name, value in (('temperature', temperature), ('alpha', alpha)):
        if not isinstance(value, numbers.Real) or isinstance(value, bool):
            raise ValueError(f'{name} must be a number, got {value!r}')
    if not temperature > 0:
        raise ValueError(f'temperature must be > 0, got {temperature!r} '
                         '(the authors searched T in {1, 6, 11, 16, 21}).')
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f'alpha must lie in [0, 1], got {alpha!r} '
                         '(1 = distillation only, 0 = cross-entropy only).')


def distillation_loss(student_logits: Tensor,
                      teacher_logits: Tensor,
                      labels: Optional[Tensor] = None,
                      temperature: float = 1.0,
                      alpha: float = 1.0) -> Tensor:
    """Hinton distillation on logits, as the authors trained high-res students.

    ``alpha * T^2 * KL(softmax(t / T) || softmax(s / T)) + (1 - alpha) * CE(s, y)``
    with the KL term averaged over the batch (``reduction='batchmean'``).

    Args:
        student_logits: B x K logits of the model being trained.
        teacher_logits: B x K logits of the frozen teacher (detached here).
        labels: B ground-truth class indices; needed when ``alpha < 1``.
        temperature: softening temperature T > 0. Defaults to 1.
        alpha: weight of the distillation term, in [0, 1]. Defaults to 1.
    """
    check_distillation_args(temperature, alpha)
    if student_logits.shape != teacher_logits.shape:
        raise ValueError(
            f'student logits {tuple(student_logits.shape)} and teacher '
            f'logits {tuple(teacher_logits.shape)} differ in shape: the '
            'teacher must predict the same classes as the student.')
    # Both terms are computed in float32, also for half-precision logits.
    loss = student_logits.new_zeros((), dtype=torch.float32)
    if alpha > 0:
        kl = F.kl_div(F.log_softmax(student_logits.float() / temperature, 1),
                      F.softmax(teacher_logits.detach().float() / temperature,
                                1),
                      reduction='batchmean')
        loss = loss + alpha * temperature**2 * kl
    if alpha < 1:
        if labels is None:
            raise ValueError(f'alpha={alpha} < 1 mixes in cross-entropy, '
                             'which needs labels; pass labels or set alpha=1.')
        loss = loss + (1 - alpha) * F.cross_entropy(student_logits.float(),
                                                    labels)
    return loss


class DistillationLoss(nn.Module):
    """Module form of :func:`distillation_loss`."""

    def __init__(self, temperature: float = 1.0, alpha: float = 1.0):
        super().__init__()
        check_distillation_args(temperature, alpha)
        self.temperature = temperature
        self.alpha = alpha

    def extra_repr(self) -> str:
        return f'temperature={self.temperature}, alpha={self.alpha}'

    def forward(self,
                student_logits: Tensor,
                teacher_logits: Tensor,
                labels: Optional[Tensor] = None) -> Tensor:
        return distillation_loss(student_logits, teacher_logits, labels,
                                 self.temperature, self.alpha)

