"""BR-NPA for few-shot classification with learn2learn.

``BRNPAProtoNet`` is a prototypical network whose embedding is the N ranked
part vectors of BR-NPA (spec section 6) on a ResNet-12, Conv-4, ResNet-18 or
any network with a feature map (learn2learn's, torchvision's).
Episodes come from learn2learn's ``TaskDataset`` over its benchmark datasets
or any image folder. learn2learn is imported only when episodes or datasets
are built.

Example::

    from brnpa_plugins.fewshot import BRNPAProtoNet
    model = BRNPAProtoNet(backbone='resnet12', num_parts=3)
    logits = model(support, support_labels, query)        # queries x ways
    maps = model.forward_with_maps(support, support_labels, query)
    maps.query.attention                                   # Q x N x h x w

MAML and ANIL on the same embedding: ``BRNPAMetaLearner`` (``meta.py``).
Pre-training, training and testing run through mmengine's ``Runner``
(``tools/train_fewshot.py``, configs in ``configs/fewshot/``) with the
modules of ``engine.py``, imported on first use so that
``import brnpa_plugins.fewshot`` does not import mmengine.

This package exports what ``docs/fewshot.md`` shows; every other name is
imported from its module (``brnpa_plugins.fewshot.data.BENCHMARKS``...).
"""
import importlib

from .accuracy import confidence_interval, percent_result
from .backbones import FewShotBackbone
from .build import build_backbone
from .checkpoint import load_learner_weights
from .classifier import BaseClassifier
from .data import build_dataset, build_transform
from .dropblock import DropBlock
from .episodes import Episode, build_taskset, split_episode
from .feature_map import FeatureMapBackbone
from .losses import build_distillation, episode_loss
from .meta import BRNPAMetaLearner
from .protonet import BRNPAProtoNet
from .visualize import save_episode_maps

#: Names of ``engine.py`` (mmengine), imported when first asked for.
_ENGINE = ('BRNPABaseClassDataset', 'BRNPAEpisodeAccuracy',
           'BRNPAEpisodeDataset', 'BRNPAEpisodeMapsHook',
           'BRNPAEpisodeSampler', 'BRNPAEpisodeTrainLoop',
           'BRNPAFewShotMetricsHook', 'BRNPAFewShotModel',
           'BRNPAPretrainModel', 'brnpa_episode_collate')

__all__ = [
    'BRNPAMetaLearner', 'BRNPAProtoNet', 'BaseClassifier', 'DropBlock',
    'Episode', 'FeatureMapBackbone', 'FewShotBackbone', 'build_backbone',
    'build_dataset', 'build_distillation', 'build_taskset', 'build_transform',
    'confidence_interval', 'episode_loss', 'load_learner_weights',
    'percent_result', 'save_episode_maps', 'split_episode', *_ENGINE
]


def __getattr__(name: str):
    if name in _ENGINE:
        return getattr(importlib.import_module(f'{__name__}.engine'), name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
