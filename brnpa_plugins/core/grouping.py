"""The non-parametric grouping of BR-NPA (Gomez et al., Pattern Recognition 2022).

Given a feature map, the grouping picks the most active location as a seed,
forms an attention map from the cosine similarity of every location to the
seed, pools the features with that map into a part ("compound") vector, and
softly suppresses what the part already explains before picking the next
seed. It has no learned parameters.
"""
from typing import NamedTuple, Optional

import torch
from torch import Tensor, nn

from .checks import check_positive_int, reject_unknown_kwargs

SEED_MODES = ('max', 'random')
ACTIVITY_MODES = ('attended_norm', 'vector_norm')


class BRNPAOutput(NamedTuple):
    """What :class:`BRNPA` returns for a batch of B feature maps of C x H x W.

    Attributes:
        features: B x N x C part vectors, in ranking order.
        attention: B x N x H x W attention maps; each is >= 0 and sums to 1.
        activity: B x N importance of each part (see :class:`BRNPA`).
        norm: B x H x W L2 norm of the input features at each location
            (the "activity map" the shown maps are multiplied by).
        seeds: B x N flat index (row * W + col) of each part's seed location;
            None for part models without seeds (attention pooling, B-CNN),
            which return their parts in this same form.
    """
    features: Tensor
    attention: Tensor
    activity: Tensor
    norm: Tensor
    seeds: Optional[Tensor]


@reject_unknown_kwargs
class BRNPA(nn.Module):
    """BR-NPA grouping: N ranked part vectors and attention maps, no parameters.

    Args:
        num_parts (int): Number of parts N. Defaults to 3.
        refine (bool): If True (the method), part k is the attention-weighted
            sum of all locations; if False (the authors' ablation), it is the
            seed's own feature vector. Defaults to True.
        seed (str): ``'max'`` picks the most active not-yet-explained location
            (the method); ``'random'`` picks a random location (ablation).
            Defaults to ``'max'``.
        activity (str): How the importance of a part is measured.
            ``'attended_norm'``: sum_i a_i * n_i / max(n), the attention-weighted
            mean of the normalised norm map, in [0, 1]. ``'vector_norm'``:
            ||v_k||. Defaults to ``'attended_norm'``.
        sort_by_activity (bool): Return the parts sorted by decreasing
            activity instead of selection order. Defaults to False.
        eps (float): Added to the norms so that cosine similarities stay
            finite. Defaults to 1e-6.

    The grouping always runs in float32 (under autocast too: a sum of squares
    over thousands of channels overflows float16) and its outputs are cast
    back to the input's dtype.
    """

    def __init__(self,
                 num_parts: int = 3,
                 refine: bool = True,
                 seed: str = 'max',
                 activity: str = 'attended_norm',
                 sort_by_activity: bool = False,
                 eps: float = 1e-6):
        super().__init__()
        check_positive_int(num_parts, 'num_parts',
                           hint='BR-NPA uses 3 parts by default.')
        if seed not in SEED_MODES:
            raise ValueError(f'seed must be one of {SEED_MODES}, got {seed!r}')
        if activity not in ACTIVITY_MODES:
            raise ValueError(
                f'activity must be one of {ACTIVITY_MODES}, got {activity!r}')
        if not eps > 0:
            raise ValueError(f'eps must be > 0, got {eps!r}')
        self.num_parts = num_parts
        self.refine = refine
        self.seed = seed
        self.activity = activity
        self.sort_by_activity = sort_by_activity
        self.eps = eps

    def extra_repr(self) -> str:
        return (f'num_parts={self.num_parts}, refine={self.refine}, '
                f'seed={self.seed!r}, activity={self.activity!r}, '
                f'sort_by_activity={self.sort_by_activity}')

    def forward(self, x: Tensor) -> BRNPAOutput:
        if x.dim() != 4:
            raise ValueError('BRNPA expects features of shape B x C x H x W, '
                             f'got a tensor of shape {tuple(x.shape)}')
        if not x.is_floating_point():
            raise TypeError(
                f'BRNPA expects floating-point features, got {x.dtype}; '
                'integer maps would truncate the attention to 0. Cast them '
                'with .float().')
        batch, channels, height, width = x.shape
        num_locations = height * width
        if self.num_parts > num_locations:
            raise ValueError(
                f'num_parts={self.num_parts} exceeds the {num_locations} '
                f'locations of a {height}x{width} feature map; lower '
                'num_parts or raise the feature resolution.')
        with torch.autocast(device_type=x.device.type, enabled=False):
            out = self._group(x.float().flatten(2).transpose(1, 2))
        features, attention, activity, norm, seeds = out
        attention = attention.reshape(batch, self.num_parts, height, width)
        norm = norm.reshape(batch, height, width)
        # The norm of C half-precision values can pass 65504 (C = 2048 and
        # values near 1500 suffice): norm and activity keep at least float32.
        wide = torch.promote_types(x.dtype, torch.float32)
        return BRNPAOutput(features.to(x.dtype), attention.to(x.dtype),
                           activity.to(wide), norm.to(wide), seeds)

    def _group(self, x: Tensor):
        """Group B x L x C float32 vectors into parts."""
        batch, num_locations, _ = x.shape
        norm = x.norm(dim=2)  # B x L
        safe_norm = norm + self.eps
        score = safe_norm
        rows = torch.arange(batch, device=x.device)
        uniform = x.new_full((batch, num_locations), 1.0 / num_locations)

        features, attention, seeds = [], [], []
        for _ in range(self.num_parts):
            if self.seed == 'max':
                seed = score.argmax(dim=1)
            else:
                seed = torch.randint(num_locations, (batch, ), device=x.device)
            # Cosine similarity of every location to the seed. Features are
            # non-negative after a ReLU, so this lies in [0, 1]; the clamp
            # keeps maps non-negative for backbones without a final ReLU.
            # <x_i, x_j> / (n_i n_j) as one batched matrix-vector product,
            # without materialising the B x L x C unit vectors.
            seed_unit = x[rows, seed] / safe_norm[rows, seed].unsqueeze(1)
            similarity = torch.bmm(x, seed_unit.unsqueeze(2)).squeeze(2)
            similarity = (similarity / safe_norm).clamp(0.0, 1.0)
            total = similarity.sum(dim=1, keepdim=True)
            # All-zero features give zero similarity everywhere: fall back to
            # a uniform map. The denominator is replaced too, so that the
            # unused branch of the where() cannot send NaN gradients back.
            explained = total > 0
            attn = torch.where(
                explained,
                similarity / torch.where(explained, total, torch.ones_like(total)),
                uniform)
            if self.refine:
                part = torch.bmm(attn.unsqueeze(1), x).squeeze(1)
            else:
                part = x[rows, seed]
            score = score * (1.0 - similarity)
            features.append(part)
            attention.append(attn)
            seeds.append(seed)

        features = torch.stack(features, dim=1)  # B x N x C
        attention = torch.stack(attention, dim=1)  # B x N x L
        seeds = torch.stack(seeds, dim=1)  # B x N
        activity = self._activity(features, attention, norm)
        if self.sort_by_activity:
            order = activity.argsort(dim=1, descending=True, stable=True)
            features = features.gather(
                1, order.unsqueeze(2).expand_as(features))
            attention = attention.gather(
                1, order.unsqueeze(2).expand_as(attention))
            activity = activity.gather(1, order)
            seeds = seeds.gather(1, order)
        return features, attention, activity, norm, seeds

    def _activity(self, features: Tensor, attention: Tensor,
                  norm: Tensor) -> Tensor:
        if self.activity == 'vector_norm':
            return features.norm(dim=2)
        peak = norm.amax(dim=1, keepdim=True).clamp_min(self.eps)
        return torch.einsum('bnl,bl->bn', attention, norm / peak)
