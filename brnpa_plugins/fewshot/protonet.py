"""A prototypical network whose embedding is BR-NPA's ranked part vectors.

The global pooling of the embedding network is replaced by the BR-NPA
grouping (spec section 6): each image becomes N part vectors. A class
prototype is the mean embedding of its support images and a query is scored
against every prototype, either on the concatenated parts or part k against
part k.
"""
from typing import Any, Dict, NamedTuple, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..core import BRNPA, BRNPAOutput
from ..core.checks import reject_unknown_kwargs
from .build import BackboneSpec, build_backbone

METRICS = ('euclidean', 'cosine')
POOLINGS = ('brnpa', 'average')
#: Default logit scale of each metric: squared distances are already spread
#: out, cosine similarities in [-1, 1] need sharpening before the softmax.
DEFAULT_SCALES = {'euclidean': 1.0, 'cosine': 10.0}


class EpisodeOutput(NamedTuple):
    """Logits of one episode and the ranked maps behind them.

    Attributes:
        logits: Q x W scores of each query for each way.
        support: the grouping output of the support images.
        query: the grouping output of the query images.
    """
    logits: Tensor
    support: BRNPAOutput
    query: BRNPAOutput


def average_pooling(features: Tensor) -> BRNPAOutput:
    """Global average pooling written as one part with a uniform map.

    This is the attention-free embedding (the usual ProtoNet, and a teacher
    for distillation) in the form BR-NPA returns, so that both flow through
    the same head. Its single part has activity 1.
    """
    batch, _, height, width = features.shape
    attention = features.new_full((batch, 1, height, width),
                                  1.0 / (height * width))
    return BRNPAOutput(features.mean(dim=(2, 3)).unsqueeze(1), attention,
                       features.new_ones(batch, 1), features.norm(dim=1),
                       None)


def class_means(embeddings: Tensor, labels: Tensor) -> Tensor:
    """Mean embedding of each class: S x ... and labels 0..W-1 -> W x ...

    Raises a ValueError naming the classes without support images.
    """
    if labels.dim() != 1 or labels.numel() != embeddings.shape[0]:
        raise ValueError(
            f'support_labels must be a vector of {embeddings.shape[0]} '
            f'labels (one per support image), got shape {tuple(labels.shape)}')
    ways = int(labels.max()) + 1
    one_hot = F.one_hot(labels, ways).to(embeddings.dtype)  # S x W
    counts = one_hot.sum(dim=0)
    if bool((counts == 0).any()):
        missing = torch.nonzero(counts == 0).flatten().tolist()
        raise ValueError(
            f'support_labels must cover every class 0..{ways - 1}; classes '
            f'{missing} have no support image. Remap the labels to '
            'consecutive integers (learn2learn RemapLabels does).')
    sums = torch.einsum('sw,sd->wd', one_hot, embeddings.flatten(1))
    return (sums / counts.unsqueeze(1)).reshape(ways, *embeddings.shape[1:])


@reject_unknown_kwargs
class BRNPAProtoNet(nn.Module):
    """Prototypical network on BR-NPA part vectors.

    ``BRNPAProtoNet(...)(support, support_labels, query)`` returns the
    Q x W logits of the queries.

    Args:
        backbone (str | dict | nn.Module): ``'resnet12'``, ``'conv4'``,
            ``'resnet18'``, an import path of a network (e.g.
            ``'torchvision.models.resnet18'``), ``dict(type=<either>,
            **arguments)`` (e.g. ``dict(type='learn2learn.vision.models.
            ResNet12Backbone', dropblock_dropout=0.1)``, or
            ``dict(type='resnet12', drop_rate=0.1)`` for DropBlock), or a
            module; see :func:`~.backbones.build_backbone`. Defaults to
            ``'resnet12'``.
        widths (Sequence[int], optional): Channels of the four stages of a
            built-in backbone; None uses the architecture's standard widths.
        high_resolution (bool): Keep the resolution in the last two stages
            (other networks go through the plugin layer's stride surgery).
            Defaults to True (BR-NPA's setting).
        in_channels (int, optional): Image channels (1 for Omniglot); None:
            3 for the built-in backbones, what the first convolution takes
            for other networks.
        feature_layer (str, optional): For a network that ends in pooling,
            the submodule whose output is the feature map; None: ``layer4``
            when there is one, else the network's output.
        num_parts (int): Number of BR-NPA parts N. Defaults to 3.
        pooling (str): ``'brnpa'`` (the method) or ``'average'`` (global
            average pooling: the attention-free baseline and teacher).
            Defaults to ``'brnpa'``.
        metric (str): ``'euclidean'`` (negative squared distance, as
            ProtoNet) or ``'cosine'``. Defaults to ``'euclidean'``.
        partwise (bool): Compare query part k with prototype part k and
            average over parts instead of comparing the concatenated parts.
            With the euclidean metric this only divides the logits by N;
            with cosine it normalises each part separately. Defaults to False.
        scale (float, optional): Multiplies the logits; None uses 1 for
            euclidean and 10 for cosine.
        learn_scale (bool): Learn the scale during training. Defaults to
            False.
        brnpa (dict, optional): Further :class:`~brnpa_plugins.core.BRNPA`
            arguments (``refine``, ``seed``, ``activity``,
            ``sort_by_activity``).
    """

    def __init__(self,
                 backbone: BackboneSpec = 'resnet12',
                 widths: Optional[Sequence[int]] = None,
                 high_resolution: bool = True,
                 in_channels: Optional[int] = None,
                 feature_layer: Optional[str] = None,
                 num_parts: int = 3,
                 pooling: str = 'brnpa',
                 metric: str = 'euclidean',
                 partwise: bool = False,
                 scale: Optional[float] = None,
                 learn_scale: bool = False,
                 brnpa: Optional[Dict[str, Any]] = None):
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(
                f'pooling must be one of {POOLINGS}, got {pooling!r}')
        if metric not in METRICS:
            raise ValueError(
                f'metric must be one of {METRICS}, got {metric!r}')
        scale = DEFAULT_SCALES[metric] if scale is None else float(scale)
        if not scale > 0:
            raise ValueError(f'scale must be > 0, got {scale!r}')
        self.backbone = build_backbone(backbone, widths, high_resolution,
                                       in_channels, feature_layer)
        self.grouping = BRNPA(num_parts, **(brnpa or {}))
        self.pooling = pooling
        self.metric = metric
        self.partwise = partwise
        scale = torch.tensor(scale)
        if learn_scale:
            self.scale = nn.Parameter(scale)
        else:
            self.register_buffer('scale', scale)

    @property
    def num_parts(self) -> int:
        """Parts per image in the embedding (1 with average pooling)."""
        return self.grouping.num_parts if self.pooling == 'brnpa' else 1

    @property
    def embedding_dim(self) -> int:
        """Length of the concatenated embedding of one image."""
        return self.num_parts * self.backbone.out_channels

    def extra_repr(self) -> str:
        return (f'pooling={self.pooling!r}, metric={self.metric!r}, '
                f'partwise={self.partwise}')

    def embed(self, images: Tensor) -> BRNPAOutput:
        """Embed B images: part vectors B x N x C, maps, activity and norm."""
        features = self.backbone(images)
        if self.pooling == 'average':
            return average_pooling(features)
        return self.grouping(features)

    def score(self, query: Tensor, prototypes: Tensor) -> Tensor:
        """Logits Q x W from Q x N x C query parts and W x N x C prototypes."""
        if not self.partwise:
            query = query.flatten(1).unsqueeze(1)
            prototypes = prototypes.flatten(1).unsqueeze(1)
        if self.metric == 'cosine':
            similarity = torch.einsum('qpc,wpc->qwp',
                                      F.normalize(query, dim=-1),
                                      F.normalize(prototypes, dim=-1))
        else:
            similarity = -(query.unsqueeze(1) -
                           prototypes.unsqueeze(0)).pow(2).sum(dim=-1)
        return self.scale * similarity.mean(dim=-1)

    def forward_with_maps(self, support: Tensor, support_labels: Tensor,
                          query: Tensor) -> EpisodeOutput:
        """Logits plus the ranked maps of the support and query images.

        Args:
            support: S x C x H x W support images.
            support_labels: S labels in 0..W-1, every class present.
            query: Q x C x H x W query images.
        """
        # One backbone pass over both sets: batch-norm statistics in training
        # mode are then shared, as in the usual ProtoNet implementations.
        both = self.embed(torch.cat([support, query]))
        num_support = support.shape[0]
        support_out, query_out = (BRNPAOutput(*(
            None if t is None else t[part] for t in both)) for part in (
                slice(None, num_support), slice(num_support, None)))
        prototypes = class_means(support_out.features, support_labels)
        logits = self.score(query_out.features, prototypes)
        return EpisodeOutput(logits, support_out, query_out)

    def forward(self, support: Tensor, support_labels: Tensor,
                query: Tensor) -> Tensor:
        """Q x W logits of the queries for the ways of the support set."""
        return self.forward_with_maps(support, support_labels, query).logits
