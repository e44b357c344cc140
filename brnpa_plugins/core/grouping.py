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
from .maps import rank_parts

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
        check_finite (bool): Refuse features that hold NaN or inf with a
            ValueError naming what was found, where, and the likely cause,
            in training and in evaluation. The check reads the B x H x W
            norm map the grouping computes anyway (NaN and inf reach it),
            not the feature map itself. On a GPU, raising needs the answer
            on the host: one synchronisation per forward pass, which waits
            for the backbone to finish before the rest of the step is
            queued. False skips the check (NaN then reach the parts, maps
            and activities, as for CUDA graph capture, where a
            synchronisation is not allowed). It is skipped while
            ``torch.jit`` traces the model (e.g. FLOP counting). Defaults to
            True.

    The grouping runs in float32 on every device, under autocast too: the
    input is cast once, and the norms, the similarities, the suppression and
    both matrix products (similarity to the seed, pooling of the parts) are
    computed and accumulated in float32. A sum of squares over thousands of
    channels overflows float16, and attention values near 1 / (H * W) keep
    only 2 to 3 significant digits in half precision. The products could run
    in float16 on a GPU, but the grouping is memory- and launch-bound there,
    a few percent of the backbone at most (``tools/gpu_check.sh`` measures
    the neck under autocast). The outputs are cast back to the input's
    dtype (the norm and activity to at least float32).
    """

    def __init__(self,
                 num_parts: int = 3,
                 refine: bool = True,
                 seed: str = 'max',
                 activity: str = 'attended_norm',
                 sort_by_activity: bool = False,
                 eps: float = 1e-6,
                 check_finite: bool = True):
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
        self.check_finite = check_finite

    def extra_repr(self) -> str:
        # The finiteness check is shown only when it is off.
        return (f'num_parts={self.num_parts}, refine={self.refine}, '
                f'seed={self.seed!r}, activity={self.activity!r}, '
                f'sort_by_activity={self.sort_by_activity}'
                + ('' if self.check_finite else ', check_finite=False'))

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
            flat = x.float().flatten(2)
            norm = location_norm(flat)  # B x L
            if self.check_finite and not torch.jit.is_tracing() and \
                    not torch.isfinite(norm).all():
                raise ValueError(non_finite_message(x, norm))
            out = self._group(flat, norm)
        features, attention, activity, norm, seeds = out
        attention = attention.reshape(batch, self.num_parts, height, width)
        norm = norm.reshape(batch, height, width)
        # The norm of C half-precision values can pass 65504 (C = 2048 and
        # values near 1500 suffice): norm and activity keep at least float32.
        wide = torch.promote_types(x.dtype, torch.float32)
        return BRNPAOutput(features.to(x.dtype), attention.to(x.dtype),
                           activity.to(wide), norm.to(wide), seeds)

    def _group(self, x: Tensor, norm: Tensor):
        """Group B x C x L float32 features, of B x L norms, into parts.

        The map is read N + 2 times without gradients: once for the norms,
        once per part for its similarity to the seed (each seed depends on
        the suppression by the parts before it), and once for all N part
        vectors together. With gradients, the N similarities are computed
        again in one product (N + 3 reads), so that the backward pass adds
        two map-sized gradients for them instead of 2N.
        """
        batch, _, num_locations = x.shape
        safe_norm = norm + self.eps
        seeds, similarity = self._select_seeds(x, safe_norm)
        rows = torch.arange(batch, device=x.device).unsqueeze(1)
        seed_vectors = x[rows, :, seeds]  # B x N x C
        if torch.is_grad_enabled() and x.requires_grad:
            # Gradients flow through c, a and v; the seeds, chosen by
            # argmax, are constants of the backward pass.
            similarity = cosine_to_seeds(x, safe_norm, seed_vectors,
                                         safe_norm.gather(1, seeds))
        total = similarity.sum(dim=2, keepdim=True)
        # All-zero features give zero similarity everywhere: fall back to a
        # uniform map. The denominator is replaced too, so that the unused
        # branch of the where() cannot send NaN gradients back.
        explained = total > 0
        attention = torch.where(
            explained, similarity / torch.where(explained, total, 1.0),
            1.0 / num_locations)  # B x N x L
        if self.refine:
            # All N attention-weighted sums in one product: one more read.
            features = torch.bmm(attention, x.transpose(1, 2))  # B x N x C
        else:
            features = seed_vectors
        activity = self._activity(features, attention, norm)
        if self.sort_by_activity:
            features, attention, activity, seeds = rank_parts(
                activity, features, attention, activity, seeds)
        return features, attention, activity, norm, seeds

    @torch.no_grad()
    def _select_seeds(self, x: Tensor, safe_norm: Tensor):
        """The B x N seed locations, in selection order, and the B x N x L
        similarities to them (without gradients)."""
        batch, _, num_locations = x.shape
        rows = torch.arange(batch, device=x.device)
        score = safe_norm
        seeds, similarities = [], []
        for _ in range(self.num_parts):
            if self.seed == 'max':
                seed = score.argmax(dim=1)
            else:
                seed = torch.randint(num_locations, (batch, ), device=x.device)
            similarity = cosine_to_seeds(
                x, safe_norm, x[rows, :, seed].unsqueeze(1),
                safe_norm[rows, seed].unsqueeze(1)).squeeze(1)
            # Soft suppression of what the part already explains.
            score = score * (1.0 - similarity)
            seeds.append(seed)
            similarities.append(similarity)
        return torch.stack(seeds, dim=1), torch.stack(similarities, dim=1)

    def _activity(self, features: Tensor, attention: Tensor,
                  norm: Tensor) -> Tensor:
        if self.activity == 'vector_norm':
            return features.norm(dim=2)
        peak = norm.amax(dim=1, keepdim=True).clamp_min(self.eps)
        return torch.einsum('bnl,bl->bn', attention, norm / peak)


def cosine_to_seeds(x: Tensor, safe_norm: Tensor, seed_vectors: Tensor,
                    seed_norms: Tensor) -> Tensor:
    """Cosine similarity of every location to each of K seeds: B x K x L.

    Args:
        x: B x C x L features.
        safe_norm: B x L norms of the locations, plus eps.
        seed_vectors: B x K x C features of the seeds.
        seed_norms: B x K norms of the seeds, plus eps.

    <x_i, x_j> / (n_i n_j) as one batched product, without materialising
    B x C x L unit vectors. Features are non-negative after a ReLU, so this
    lies in [0, 1]; the clamp keeps maps non-negative for backbones without
    a final ReLU.
    """
    units = seed_vectors / seed_norms.unsqueeze(2)
    return (torch.bmm(units, x) / safe_norm.unsqueeze(1)).clamp(0.0, 1.0)


def location_norm(x: Tensor, block: int = 256) -> Tensor:
    """The L2 norm over channels of B x C x L features: B x L.

    A sum of squares over blocks of ``block`` channels: ``x.norm(dim=1)``
    reduces over the strided channel dimension several times more slowly on
    a CPU, and squaring all of ``x`` at once writes a temporary as large as
    the map; a block's squares stay in the cache. The gradient at a zero
    vector is 0, as ``torch.norm`` gives it (the square root's own would be
    infinite, and NaN after the chain rule).
    """
    blocks = torch.split(x, block, dim=1)
    squares = blocks[0].square().sum(dim=1)
    for channels in blocks[1:]:
        squares = squares + channels.square().sum(dim=1)
    # NaN and inf stay as they are, for the finiteness check.
    zero = squares == 0
    return torch.where(zero, 0.0, torch.where(zero, 1.0, squares).sqrt())


def non_finite_message(features: Tensor, norm: Tensor) -> str:
    """Why the grouping refuses ``features`` (B x C x H x W) whose B x L
    ``norm`` is not finite everywhere: what was found, where, and the fix.
    """
    values = features.detach()
    counts = [int(torch.isnan(values).sum()),
              int((values == float('inf')).sum()),
              int((values == float('-inf')).sum())]
    images = (~torch.isfinite(norm)).any(dim=1).nonzero().flatten().tolist()
    where = (f'image{"s" if len(images) > 1 else ""} '
             f'{", ".join(map(str, images[:10]))}'
             f'{" ..." if len(images) > 10 else ""} of the batch')
    subject = (f'BRNPA: the features to group (shape {tuple(values.shape)}, '
               f'{values.dtype})')
    if not any(counts):
        return (f'{subject} are finite, but their L2 norm over the '
                f'{values.shape[1]} channels overflows float32 in {where} '
                f'(largest |value| {float(values.abs().max()):.3g}); scale '
                'the features down, e.g. with a normalisation layer before '
                'the grouping.')
    nan, positive, negative = counts
    return (f'{subject} hold {nan} NaN, {positive} +inf and {negative} -inf '
            f'values, in {where}; the parts, attention maps and activities '
            'would be NaN. Likely causes: a float16 overflow in the backbone '
            '(float16 holds values up to 65504: train and test with '
            'bfloat16 autocast or in float32 instead), or a diverged '
            'training run (NaN weights: lower the learning rate, clip the '
            'gradients, e.g. optim_wrapper.clip_grad=dict(max_norm=5.0), '
            'and resume from a checkpoint saved before the divergence), or '
            'NaN in the input images. BRNPA(check_finite=False) turns this '
            'check off.')
