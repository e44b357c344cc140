"""BR-NPA re-identification models, built by name through torchreid's factory.

The backbone is torchreid's own network (so its ImageNet weights load
unchanged) with the stride surgery of the
registered high-resolution backbones
(:func:`brnpa_plugins.backbones.to_high_resolution`); BR-NPA groups its last
feature map into ranked parts, and the re-ID head of the paper (spec section
6) maps the concatenated parts to a 512-d embedding and the identity logits.
"""
import sys
from typing import Callable, Dict, NamedTuple, Sequence

import torch
import torch.nn.functional as F
import torchreid
from torch import Tensor, nn

from brnpa_plugins.core import BRNPA, BRNPAOutput
from brnpa_plugins.core.checks import (check_kwargs, check_positive_int,
                                       check_probability,
                                       reject_unknown_kwargs)
from brnpa_plugins.core.highres import HIGH_RESOLUTION_STAGES
from brnpa_plugins.backbones import to_high_resolution

LOSSES = ('softmax', 'triplet')


@reject_unknown_kwargs
class BRNPAReID(nn.Module):
    """A BR-NPA person re-identification model with torchreid's contract.

    ``forward`` returns, in training, the identity logits (``loss='softmax'``)
    or ``(logits, embedding)`` (``loss='triplet'``); in evaluation, the
    embedding that torchreid's engines rank the gallery with. The attention
    behind a prediction is returned by :meth:`attend`.

    Args:
        num_classes (int): number of training identities.
        backbone (nn.Module): a network whose ``featuremaps(x)`` returns
            B x C x H x W non-negative features (torchreid's ResNet, OSNet).
        feature_channels (int): C, the channels of those features.
        loss (str): ``'softmax'`` or ``'triplet'``. Defaults to ``'softmax'``.
        num_parts (int): number of BR-NPA parts N. Defaults to 3.
        embedding_dim (int): size of the bottleneck embedding. Defaults to 512.
        dropout (float): dropout before the identity classifier. Defaults to 0.
        refine, seed, activity, sort_by_activity: the grouping options of
            :class:`brnpa_plugins.core.BRNPA` (the method: True, ``'max'``,
            ``'attended_norm'``, False).
        part_logits (bool): PCB-style outputs. Each ranked part vector gets
            its own reduction (Linear(C, embedding_dim) + BatchNorm + ReLU)
            and identity classifier; training returns the list of the N
            part logits (torchreid's engines average the loss over them),
            the triplet feature and the evaluation feature are the
            concatenated L2-normalised part vectors (N * C). Defaults to
            False (one 512-d embedding of all parts).
    """

    def __init__(self,
                 num_classes: int,
                 backbone: nn.Module,
                 feature_channels: int,
                 loss: str = 'softmax',
                 num_parts: int = 3,
                 embedding_dim: int = 512,
                 dropout: float = 0.0,
                 refine: bool = True,
                 seed: str = 'max',
                 activity: str = 'attended_norm',
                 sort_by_activity: bool = False,
                 part_logits: bool = False):
        super().__init__()
        if loss not in LOSSES:
            raise ValueError(f'loss must be one of {LOSSES}, got {loss!r}; '
                             "use 'triplet' with torchreid's "
                             'ImageTripletEngine, else softmax.')
        for name, value in (('num_classes', num_classes),
                            ('feature_channels', feature_channels),
                            ('embedding_dim', embedding_dim)):
            check_positive_int(value, name)
        if not callable(getattr(backbone, 'featuremaps', None)):
            raise TypeError(f'{type(backbone).__name__} has no featuremaps(x) '
                            'method; pass a torchreid backbone (ResNet, '
                            'OSNet) or a module that defines one.')
        check_probability(dropout, 'dropout', 'BRNPAReID: ',
                          'set model.dropout.')
        self.loss = loss
        self.part_logits = bool(part_logits)
        self.num_parts = num_parts
        self.backbone = backbone
        self.attention = BRNPA(num_parts, refine, seed, activity,
                               sort_by_activity)
        self.dropout = nn.Dropout(dropout)
        if self.part_logits:
            # torchreid reads `feature_dim` to size heads and report models.
            self.feature_dim = num_parts * feature_channels
            self.bottleneck = nn.ModuleList(
                _reduction(feature_channels, embedding_dim)
                for _ in range(num_parts))
            self.classifier = nn.ModuleList(
                nn.Linear(embedding_dim, num_classes, bias=False)
                for _ in range(num_parts))
            classifiers = list(self.classifier)
        else:
            self.feature_dim = embedding_dim
            self.bottleneck = _reduction(num_parts * feature_channels,
                                         embedding_dim)
            # The authors' classifiers have no bias.
            self.classifier = nn.Linear(embedding_dim, num_classes,
                                        bias=False)
            classifiers = [self.classifier]
        for classifier in classifiers:
            nn.init.normal_(classifier.weight, 0, 0.01)

    def featuremaps(self, x: Tensor) -> Tensor:
        """The backbone's last feature map, B x C x H x W."""
        return self.backbone.featuremaps(x)

    def attend(self, x: Tensor) -> BRNPAOutput:
        """Ranked parts, attention maps, activities and norm map of images."""
        return self.attention(self.featuremaps(x))

    def embed(self, parts: BRNPAOutput) -> Tensor:
        """The re-ID feature of grouped parts: the B x embedding_dim
        embedding, or with ``part_logits`` the concatenated L2-normalised
        part vectors (B x N * C)."""
        if self.part_logits:
            return F.normalize(parts.features, p=2, dim=2).flatten(1)
        return self.bottleneck(parts.features.flatten(1))

    def part_scores(self, parts: BRNPAOutput) -> list:
        """With ``part_logits``: the identity logits of each ranked part."""
        return [
            classifier(self.dropout(reduce(parts.features[:, k])))
            for k, (reduce, classifier) in enumerate(
                zip(self.bottleneck, self.classifier))
        ]

    def logits(self, x: Tensor) -> Tensor:
        """Identity logits in any mode (a distillation teacher needs them);
        with ``part_logits``, the mean of the part logits."""
        parts = self.attend(x)
        if self.part_logits:
            return torch.stack(self.part_scores(parts)).mean(0)
        return self.classifier(self.dropout(self.embed(parts)))

    def forward(self, x: Tensor, return_featuremaps: bool = False):
        maps = self.featuremaps(x)
        if return_featuremaps:
            # What torchreid's activation-map tool squares and sums.
            return maps
        parts = self.attention(maps)
        if self.part_logits:
            feature = self.embed(parts)
            if not self.training:
                return feature
            # A list: torchreid's engines average the loss over its items.
            logits = self.part_scores(parts)
            return logits if self.loss == 'softmax' else (logits, feature)
        embedding = self.embed(parts)
        if not self.training:
            return embedding
        logits = self.classifier(self.dropout(embedding))
        if self.loss == 'softmax':
            return logits
        return logits, embedding


def _reduction(in_features: int, out_features: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(in_features, out_features),
                         nn.BatchNorm1d(out_features), nn.ReLU(inplace=True))


class Backbone(NamedTuple):
    """How to build one BR-NPA variant from a torchreid network.

    Attributes:
        torchreid_name: the network's name in torchreid's model factory.
        channels: channels of its last feature map.
        full_resolution_stages: stages whose first block gets stride 1.
    """
    torchreid_name: str
    channels: int
    full_resolution_stages: Sequence[str] = ()


#: Names registered in torchreid's factory. Re-ID ResNets usually run layer4
#: at stride 1 (16 x 8 maps at 256 x 128); the ``_hr`` variants also run
#: layer3 at stride 1 (32 x 16), the high-resolution model of the paper.
BACKBONES: Dict[str, Backbone] = {
    'brnpa_resnet18': Backbone('resnet18', 512, ('layer4', )),
    'brnpa_resnet18_hr': Backbone('resnet18', 512, HIGH_RESOLUTION_STAGES),
    'brnpa_resnet50': Backbone('resnet50', 2048, ('layer4', )),
    'brnpa_resnet50_hr': Backbone('resnet50', 2048,
                                  HIGH_RESOLUTION_STAGES),
    'brnpa_osnet_x1_0': Backbone('osnet_x1_0', 512),
    'brnpa_osnet_x0_25': Backbone('osnet_x0_25', 128),
}


def load_imagenet_weights(network: nn.Module, torchreid_name: str) -> None:
    """Load the ImageNet weights torchreid uses for this network.

    torchreid's ResNets fetch torchvision's files; they are read here with
    ``weights_only=True``, keeping the entries whose name and shape match, as
    torchreid does. Other networks use torchreid's own loader.
    """
    factory = getattr(torchreid.models, '__model_factory')
    module = sys.modules[factory[torchreid_name].__module__]
    url = getattr(module, 'model_urls', {}).get(torchreid_name)
    try:
        if url is None:
            module.init_pretrained_weights(network, key=torchreid_name)
            return
        state = torch.hub.load_state_dict_from_url(url, map_location='cpu',
                                                   weights_only=True)
    except OSError as error:
        where = ('the file torchreid downloads into $TORCH_HOME/checkpoints'
                 if url is None else
                 f'{url} as {torch.hub.get_dir()}/checkpoints/'
                 f'{url.rsplit("/", 1)[-1]}')
        raise RuntimeError(
            f'could not load the ImageNet weights of {torchreid_name!r} '
            f'({error}). Without internet access, put {where}, or build the '
            'model with pretrained=False.') from error
    own = network.state_dict()
    own.update({
        key: value
        for key, value in state.items()
        if key in own and own[key].shape == value.shape
    })
    network.load_state_dict(own)


def build_brnpa_reid(name: str,
                     num_classes: int,
                     loss: str = 'softmax',
                     pretrained: bool = True,
                     **kwargs) -> BRNPAReID:
    """Build a registered BR-NPA re-ID model by name.

    Args:
        name: one of :data:`BACKBONES`.
        num_classes: number of training identities.
        loss: ``'softmax'`` or ``'triplet'``.
        pretrained: load the backbone's ImageNet weights.
        **kwargs: passed to :class:`BRNPAReID` (``num_parts``,
            ``embedding_dim``, ``dropout``, the grouping options
            ``refine / seed / activity / sort_by_activity`` and
            ``part_logits``); torchreid's ``use_gpu`` is
            accepted and ignored, as torchreid's own builders do.
    """
    if name not in BACKBONES:
        raise KeyError(f'unknown BR-NPA model {name!r}; choose one of '
                       f'{sorted(BACKBONES)}')
    kwargs.pop('use_gpu', None)
    # Before the network is built (and its weights are read): the first
    # three arguments of BRNPAReID are given here.
    check_kwargs(BRNPAReID, kwargs, name, given=3)
    spec = BACKBONES[name]
    network = torchreid.models.build_model(
        spec.torchreid_name, num_classes=1, loss='softmax', pretrained=False)
    if pretrained:
        load_imagenet_weights(network, spec.torchreid_name)
    if spec.full_resolution_stages:
        to_high_resolution(network, spec.full_resolution_stages)
    # The network's own pooling head is never run: drop its parameters so
    # that optimisers and distributed training do not see unused ones.
    for head in ('fc', 'classifier'):
        setattr(network, head, None)
    return BRNPAReID(num_classes, network, spec.channels, loss=loss, **kwargs)


def _builder(name: str) -> Callable[..., BRNPAReID]:
    def build(num_classes, loss='softmax', pretrained=True, **kwargs):
        return build_brnpa_reid(name, num_classes, loss, pretrained, **kwargs)

    build.__name__ = build.__qualname__ = name
    build.__doc__ = f'Build ``{name}`` (see :func:`build_brnpa_reid`).'
    return build


BUILDERS: Dict[str, Callable[..., BRNPAReID]] = {
    name: _builder(name)
    for name in BACKBONES
}


def register_models() -> None:
    """Add the BR-NPA models to ``torchreid.models.build_model``.

    Safe to call again; refuses to replace a different model that was
    registered under one of these names.
    """
    factory = getattr(torchreid.models, '__model_factory')
    for name, build in BUILDERS.items():
        current = factory.get(name)
        if current is not None and \
                getattr(current, '__module__', None) != __name__:
            raise RuntimeError(
                f'torchreid already has a model named {name!r} '
                f'({current!r}); BR-NPA will not replace it. Remove it from '
                'torchreid.models.__model_factory first.')
        factory[name] = build
