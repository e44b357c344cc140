"""MAML and ANIL on BR-NPA embeddings, with learn2learn's ``MAML``.

A linear head on the concatenated part vectors classifies the ways of an
episode. For each episode, a clone of the head (ANIL) or of the whole
network (MAML) takes ``adaptation_steps`` gradient steps on the support
cross-entropy; the adapted clone then scores the queries. The query loss
trains the initial weights through the adaptation (second order unless
``first_order``).

:class:`BRNPAMetaLearner` has the interface of
:class:`~brnpa_plugins.fewshot.BRNPAProtoNet`:
``learner(support, support_labels, query)`` returns the Q x W query logits
after adaptation, and ``forward_with_maps`` the ranked maps too. So
:func:`~brnpa_plugins.fewshot.losses.episode_loss` and the engine's
``BRNPAFewShotModel`` run it as they run the prototypical network, inside
any training loop. The adaptation needs
gradients even when the caller evaluates under ``torch.no_grad()``: it
enables them for itself, first order and with the embedding frozen (ANIL)
in eval mode, and returns logits without a graph.

In eval mode the batch-norm layers normalise with the statistics of the
batch they see (the support set while adapting, the queries when scoring
them; both at once for ANIL's embedding), as in learn2learn's MAML and ANIL
examples, which never switch their networks to eval mode; their running
statistics are left as they were. ``eval_batch_norm='running'`` uses the
running statistics instead (torch's eval mode).
"""
import contextlib
from typing import Iterator, NamedTuple, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..core import BRNPAOutput
from ..core.checks import check_positive_int, reject_unknown_kwargs
from .protonet import BRNPAProtoNet, EpisodeOutput

ALGORITHMS = ('maml', 'anil')
#: How batch norm normalises in eval mode: with the statistics of the batch
#: (learn2learn's examples) or with the running statistics.
EVAL_BATCH_NORMS = ('batch', 'running')


@contextlib.contextmanager
def batch_statistics(module: nn.Module) -> Iterator[None]:
    """Batch-norm layers of ``module`` normalise with the statistics of
    their input for a block, and keep their running statistics.

    The layers are switched to training mode (only they: dropout stays as
    it is) and their running statistics, which training mode updates, are
    put back afterwards.
    """
    layers = [layer for layer in module.modules()
              if isinstance(layer, nn.modules.batchnorm._BatchNorm)]
    saved = [(layer.training, {name: buffer.clone() for name, buffer in
                               layer.named_buffers(recurse=False)})
             for layer in layers]
    for layer in layers:
        layer.train()
    try:
        yield
    finally:
        for layer, (training, buffers) in zip(layers, saved):
            layer.train(training)
            for name, value in buffers.items():
                getattr(layer, name).copy_(value)


class _EmbeddingHead(nn.Module):
    """BR-NPA embedding then a linear head: the network MAML adapts."""

    def __init__(self, embedding: BRNPAProtoNet, head: nn.Linear):
        super().__init__()
        self.embedding = embedding
        self.head = head

    def forward(self, images: Tensor) -> Tensor:
        return self.head(self.embedding.embed(images).features.flatten(1))


class Adapted(NamedTuple):
    """An adapted learner's query logits and the maps behind them."""
    logits: Tensor
    support: BRNPAOutput
    query: BRNPAOutput


def _split(output: BRNPAOutput, count: int):
    return tuple(BRNPAOutput(*(None if t is None else t[part]
                               for t in output))
                 for part in (slice(None, count), slice(count, None)))


@reject_unknown_kwargs
class BRNPAMetaLearner(nn.Module):
    """MAML or ANIL with a linear head on BR-NPA part vectors.

    Args:
        embedding (BRNPAProtoNet): Gives the embedding (backbone and BR-NPA
            grouping, ``embed``); its prototype head is not used.
        ways (int): Classes per episode W (the head's outputs).
        algorithm (str): ``'anil'`` adapts only the head in the inner loop;
            ``'maml'`` adapts the whole network. Defaults to ``'anil'``.
        inner_lr (float): Step size of the inner loop (learn2learn's
            ``lr``). Defaults to 0.1.
        adaptation_steps (int): Inner steps in training. Defaults to 5.
        eval_adaptation_steps (int, optional): Inner steps in eval mode;
            None uses ``adaptation_steps``.
        first_order (bool): Drop the second-order terms in training (eval
            is always first order). Defaults to False.
        eval_batch_norm (str): In eval mode, ``'batch'`` normalises with
            the statistics of each batch (the support set while adapting,
            the queries when scoring), as learn2learn's examples do;
            ``'running'`` with the running statistics. Defaults to
            ``'batch'``.
    """

    def __init__(self,
                 embedding: BRNPAProtoNet,
                 ways: int,
                 algorithm: str = 'anil',
                 inner_lr: float = 0.1,
                 adaptation_steps: int = 5,
                 eval_adaptation_steps: Optional[int] = None,
                 first_order: bool = False,
                 eval_batch_norm: str = 'batch'):
        super().__init__()
        from learn2learn.algorithms import MAML

        if algorithm not in ALGORITHMS:
            raise ValueError(f'meta.algorithm must be one of {ALGORITHMS}, '
                             f'got {algorithm!r}')
        check_positive_int(ways, 'ways', 'BRNPAMetaLearner: ',
                           'set model.meta.ways (the ways of the episodes).')
        if ways < 2:
            raise ValueError(f'meta.ways must be >= 2, got {ways!r}')
        check_positive_int(adaptation_steps, 'adaptation_steps',
                           'BRNPAMetaLearner: ')
        if eval_adaptation_steps is not None:
            check_positive_int(eval_adaptation_steps,
                               'eval_adaptation_steps', 'BRNPAMetaLearner: ')
        if not float(inner_lr) > 0:
            raise ValueError(f'meta.inner_lr must be > 0, got {inner_lr!r}')
        if eval_batch_norm not in EVAL_BATCH_NORMS:
            raise ValueError(f'meta.eval_batch_norm must be one of '
                             f'{EVAL_BATCH_NORMS}, got {eval_batch_norm!r}')
        self.eval_batch_norm = eval_batch_norm
        self.algorithm = algorithm
        self.ways = ways
        self.adaptation_steps = adaptation_steps
        self.eval_adaptation_steps = eval_adaptation_steps or \
            adaptation_steps
        self.first_order = first_order
        head = nn.Linear(embedding.embedding_dim, ways)
        # allow_unused: layers a cut network does not run (e.g. the fc of a
        # torchvision ResNet) get no gradient.
        if algorithm == 'anil':
            self.embedding = embedding
            self.head = MAML(head, lr=float(inner_lr),
                             first_order=first_order, allow_unused=True)
        else:
            self.maml = MAML(_EmbeddingHead(embedding, head),
                             lr=float(inner_lr), first_order=first_order,
                             allow_unused=True, allow_nograd=True)

    def extra_repr(self) -> str:
        return (f'algorithm={self.algorithm!r}, ways={self.ways}, '
                f'adaptation_steps={self.adaptation_steps}, '
                f'eval_batch_norm={self.eval_batch_norm!r}')

    @property
    def learner(self) -> BRNPAProtoNet:
        """The embedding network."""
        return self.embedding if self.algorithm == 'anil' else \
            self.maml.module.embedding

    @property
    def num_parts(self) -> int:
        return self.learner.num_parts

    @property
    def embedding_dim(self) -> int:
        return self.learner.embedding_dim

    def embed(self, images: Tensor) -> BRNPAOutput:
        """The (unadapted) embedding, e.g. for base-class pre-training."""
        return self.learner.embed(images)

    def _check_labels(self, support_labels: Tensor) -> None:
        if support_labels.numel() == 0 or int(support_labels.min()) < 0 or \
                int(support_labels.max()) >= self.ways:
            raise ValueError(
                f'support_labels must be in 0..{self.ways - 1} (meta.ways='
                f'{self.ways}), got {sorted(set(support_labels.tolist()))}; '
                'episodes must have as many ways as the head.')

    def adapt(self, support: Tensor, support_labels: Tensor,
              query: Tensor) -> Adapted:
        """Adapt a clone on the support set and score the queries."""
        self._check_labels(support_labels)
        if self.training or self.eval_batch_norm == 'running':
            return self._adapt(support, support_labels, query)
        with batch_statistics(self):
            return self._adapt(support, support_labels, query)

    def _adapt(self, support: Tensor, support_labels: Tensor,
               query: Tensor) -> Adapted:
        training = torch.is_grad_enabled() and self.training
        steps = self.adaptation_steps if self.training else \
            self.eval_adaptation_steps
        first_order = self.first_order or not training
        if self.algorithm == 'anil':
            # One backbone pass over both sets, as the prototypical network.
            with torch.set_grad_enabled(training):
                both = self.embedding.embed(torch.cat([support, query]))
            support_out, query_out = _split(both, support.shape[0])
            support_x = support_out.features.flatten(1)
            query_x = query_out.features.flatten(1)
            with torch.enable_grad():
                learner = self.head.clone(first_order=first_order)
                for _ in range(steps):
                    learner.adapt(F.cross_entropy(learner(support_x),
                                                  support_labels))
                logits = learner(query_x)
        else:
            with torch.enable_grad():
                learner = self.maml.clone(first_order=first_order)
                for _ in range(steps):
                    learner.adapt(F.cross_entropy(learner(support),
                                                  support_labels))
                network = learner.module
                support_out = network.embedding.embed(support)
                query_out = network.embedding.embed(query)
                logits = network.head(query_out.features.flatten(1))
        if not training:
            logits = logits.detach()
            support_out, query_out = (BRNPAOutput(*(
                None if t is None else t.detach() for t in out))
                for out in (support_out, query_out))
        return Adapted(logits, support_out, query_out)

    def forward_with_maps(self, support: Tensor, support_labels: Tensor,
                          query: Tensor) -> EpisodeOutput:
        """Query logits after adaptation, with the maps of the (adapted,
        for MAML) embedding."""
        return EpisodeOutput(*self.adapt(support, support_labels, query))

    def forward(self, support: Tensor, support_labels: Tensor,
                query: Tensor) -> Tensor:
        """Q x W logits of the queries after adapting on the support set."""
        return self.adapt(support, support_labels, query).logits
