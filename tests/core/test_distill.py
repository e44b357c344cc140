import pytest
import torch
import torch.nn.functional as F

from brnpa_plugins.core import DistillationLoss, distillation_loss


def manual(student, teacher, labels, temperature, alpha):
    p_teacher = F.softmax(teacher / temperature, dim=1)
    log_p_student = F.log_softmax(student / temperature, dim=1)
    kl = (p_teacher * (p_teacher.log() - log_p_student)).sum(1).mean()
    ce = -F.log_softmax(student, 1)[torch.arange(len(labels)), labels].mean()
    return alpha * temperature**2 * kl + (1 - alpha) * ce


@pytest.mark.parametrize('temperature, alpha', [(1.0, 1.0), (6.0, 0.5),
                                                (21.0, 0.1), (2.0, 0.0)])
def test_matches_the_formula(temperature, alpha):
    generator = torch.Generator().manual_seed(0)
    student = torch.randn(5, 7, generator=generator)
    teacher = torch.randn(5, 7, generator=generator)
    labels = torch.randint(7, (5, ), generator=generator)
    torch.testing.assert_close(
        distillation_loss(student, teacher, labels, temperature, alpha),
        manual(student, teacher, labels, temperature, alpha))


def test_identical_logits_give_zero_distillation_loss():
    logits = torch.randn(3, 4)
    assert distillation_loss(logits, logits.clone()).item() == \
        pytest.approx(0.0, abs=1e-6)


def test_no_gradient_reaches_the_teacher():
    student = torch.randn(2, 3, requires_grad=True)
    teacher = torch.randn(2, 3, requires_grad=True)
    DistillationLoss(temperature=4.0)(student, teacher).backward()
    assert student.grad is not None and teacher.grad is None


@pytest.mark.parametrize('kwargs, word', [
    (dict(temperature=0), 'temperature'), (dict(alpha=1.5), 'alpha'),
    (dict(alpha='x'), "alpha must be a number, got 'x'"),
    (dict(temperature=None), 'temperature must be a number, got None')])
def test_bad_arguments_are_clear_errors(kwargs, word):
    with pytest.raises(ValueError, match=word):
        DistillationLoss(**kwargs)


def test_mixing_in_cross_entropy_needs_labels():
    with pytest.raises(ValueError, match='needs labels'):
        distillation_loss(torch.randn(2, 3), torch.randn(2, 3), alpha=0.5)


def test_shape_mismatch_is_a_clear_error():
    with pytest.raises(ValueError, match='same classes'):
        distillation_loss(torch.randn(2, 3), torch.randn(2, 4))
