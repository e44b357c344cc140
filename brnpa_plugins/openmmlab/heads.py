"""The BR-NPA classification head for mmpretrain."""
from typing import List, Optional, Sequence

import torch
from torch import Tensor, nn

from mmpretrain.models.heads import ClsHead
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from ..core.checks import (check_positive_int, check_probability,
                            reject_unknown_kwargs)
from ..core.contributions import part_contributions

#: Fields each predicted DataSample gets from a BR-NPA model.
ATTENTION_FIELD = 'attention_maps'  # N x H x W, each map sums to 1
ACTIVITY_FIELD = 'part_activity'  # N
NORM_FIELD = 'feature_norm'  # H x W
#: N x K: what each part adds to each class logit (sums to logit - bias).
CONTRIBUTIONS_FIELD = 'part_contributions'


@MODELS.register_module()
@reject_unknown_kwargs
class BRNPAHead(ClsHead):
    """Dropout and a linear layer on the N concatenated part vectors.

    Predictions carry BR-NPA's explanation: every :class:`DataSample` returned
    by ``predict`` has ``attention_maps`` (N x H x W, rank order, each summing
    to 1), ``part_activity`` (N), ``feature_norm`` (H x W) and
    ``part_contributions`` (N x K): the term of each part in each class
    logit, ``<W_k,n, v_n>`` for the slice ``W_k,n`` of the linear layer
    that multiplies part n (dropout is off at prediction), so that the N
    terms of a class sum to its logit minus the bias
    (:func:`brnpa_plugins.core.part_contributions`).

    Args:
        num_classes (int): Number of classes.
        in_channels (int): Channels C of one part vector (the backbone's).
        num_parts (int): Number of parts N; the layer sees N * C inputs.
            Defaults to 3.
        dropout (float): Dropout probability before the linear layer.
            Defaults to 0.
        bias (bool): Whether the linear layer has a bias. The authors used
            none. Defaults to False.
        init_cfg (dict, optional): Defaults to a normal init of the layer.
        **kwargs: ``loss``, ``topk``, ``cal_acc`` of :class:`ClsHead`.
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 num_parts: int = 3,
                 dropout: float = 0.0,
                 bias: bool = False,
                 init_cfg: Optional[dict] = dict(
                     type='Normal', layer='Linear', std=0.01),
                 **kwargs):
        super().__init__(init_cfg=init_cfg, **kwargs)
        for name, value in (('num_classes', num_classes),
                            ('in_channels', in_channels),
                            ('num_parts', num_parts)):
            check_positive_int(value, name, 'BRNPAHead: ')
        check_probability(dropout, 'dropout', 'BRNPAHead: ',
                          'set model.head.dropout (0 turns dropout off).')
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.num_parts = num_parts
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(num_parts * in_channels, num_classes, bias=bias)

    def pre_logits(self, feats: Sequence[Tensor]) -> Tensor:
        parts = feats[-1]
        expected = self.num_parts * self.in_channels
        if parts.dim() != 2 or parts.shape[1] != expected:
            raise ValueError(
                f'BRNPAHead expects {self.num_parts} parts x '
                f'{self.in_channels} channels = {expected} features per '
                f'image, got a tensor of shape {tuple(parts.shape)}; make '
                'head.num_parts / head.in_channels match the neck.')
        return parts

    def forward(self, feats: Sequence[Tensor]) -> Tensor:
        return self.fc(self.dropout(self.pre_logits(feats)))

    def predict(self,
                feats: Sequence[Tensor],
                data_samples: Optional[List[Optional[DataSample]]] = None
                ) -> List[DataSample]:
        samples = super().predict(feats, data_samples)
        attention = getattr(feats, 'attention', None)
        if attention is None:  # features from a neck that is not BR-NPA's
            return samples
        parts = self.pre_logits(feats).detach()
        contributions = part_contributions(
            parts.reshape(len(parts), self.num_parts, self.in_channels),
            self.fc.weight.detach())
        for sample, maps, activity, norm, terms in zip(
                samples, attention.detach(), feats.activity.detach(),
                feats.norm.detach(), contributions):
            sample.set_field(maps, ATTENTION_FIELD, dtype=torch.Tensor)
            sample.set_field(activity, ACTIVITY_FIELD, dtype=torch.Tensor)
            sample.set_field(norm, NORM_FIELD, dtype=torch.Tensor)
            sample.set_field(terms, CONTRIBUTIONS_FIELD, dtype=torch.Tensor)
        return samples
