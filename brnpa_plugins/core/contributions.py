"""Exact part contributions of a linear head on BR-NPA's part vectors.

A linear layer on the concatenated parts ``[v_1 .. v_N]`` computes the logit
of class k as ``sum_n <W_k,n, v_n> + b_k``, where ``W_k,n`` is the slice of
row k that multiplies part n. Each term of that sum is what part n adds to
the logit: the contributions are exact (no approximation, no baseline) and
sum to the logit minus the bias.
"""
import torch
from torch import Tensor


def part_contributions(parts: Tensor, weight: Tensor) -> Tensor:
    """What each part adds to every class logit of a linear layer.

    Args:
        parts: B x N x C part vectors, in the order the layer concatenates
            them (the order of the attention maps they come with).
        weight: K x (N * C) weight of the linear layer on the concatenated
            parts (``nn.Linear(N * C, K).weight``).

    Returns:
        B x N x K: entry (b, n, k) is ``<weight[k, n*C:(n+1)*C], parts[b, n]>``;
        summed over n it is logit k of image b minus the layer's bias.

    Raises:
        ValueError: ``parts`` is not B x N x C or ``weight`` not K x (N*C).
    """
    if parts.dim() != 3:
        raise ValueError(f'parts must be B x N x C part vectors, got shape '
                         f'{tuple(parts.shape)}')
    count, channels = parts.shape[1:]
    if weight.dim() != 2 or weight.shape[1] != count * channels:
        raise ValueError(
            f'weight must be K x (N * C) = K x {count * channels} for '
            f'{count} parts of {channels} channels, got shape '
            f'{tuple(weight.shape)}')
    per_part = weight.reshape(weight.shape[0], count, channels)
    return torch.einsum('bnc,knc->bnk', parts.to(weight.dtype), per_part)


def class_contributions(contributions: Tensor, classes: Tensor) -> Tensor:
    """B x N: the contributions (B x N x K) of each image's class in
    ``classes`` (B indices), e.g. the predicted one."""
    index = torch.as_tensor(classes, device=contributions.device).long()
    return contributions.gather(
        2, index.reshape(-1, 1, 1).expand(-1, contributions.shape[1], 1))[..., 0]
