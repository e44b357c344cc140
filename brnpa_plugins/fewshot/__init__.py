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
"""
import importlib
from .backbones import ARCHITECTURES, FewShotBackbone
from .build import build_backbone
from .dropblock import DropBlock
from .feature_map import FeatureMapBackbone
from .checkpoint import learner_state, load_learner_weights
from .classifier import BaseClassifier
from .data import (BENCHMARKS, SPLITS, build_dataset, build_split,
                   build_transform, check_root)
from .episodes import Episode, build_taskset, split_episode
from .meta import ALGORITHMS, BRNPAMetaLearner
from .protonet import BRNPAProtoNet, EpisodeOutput, average_pooling
from .training import (Accuracy, Distillation, build_distillation,
                       confidence_interval, episode_loss, evaluate,
                       format_result, percent_result, pretrain_epoch,
                       pretrain_loss, train_episodes)
from .visualize import save_episode_maps

#: Names of ``engine.py`` (mmengine), imported when first asked for.
_ENGINE = ('BRNPABaseClassDataset', 'BRNPAEpisodeAccuracy',
           'BRNPAEpisodeDataset', 'BRNPAEpisodeMapsHook',
           'BRNPAEpisodeSampler', 'BRNPAEpisodeTrainLoop',
           'BRNPAFewShotMetricsHook', 'BRNPAFewShotModel',
           'BRNPAPretrainModel', 'brnpa_episode_collate')

__all__ = [
    'ALGORITHMS', 'ARCHITECTURES', 'Accuracy', 'BENCHMARKS',
    'BRNPAMetaLearner', 'BRNPAProtoNet', 'BaseClassifier', 'Distillation',
    'DropBlock', 'Episode', 'EpisodeOutput', 'FeatureMapBackbone',
    'FewShotBackbone', 'SPLITS', 'average_pooling', 'build_backbone',
    'build_dataset', 'build_distillation', 'build_split', 'build_taskset',
    'build_transform', 'check_root', 'confidence_interval', 'episode_loss',
    'evaluate', 'format_result', 'learner_state', 'load_learner_weights',
    'percent_result', 'pretrain_epoch', 'pretrain_loss', 'save_episode_maps',
    'split_episode', 'train_episodes'
] + ['BRNPABaseClassDataset', 'BRNPAEpisodeAccuracy', 'BRNPAEpisodeDataset',
     'BRNPAEpisodeMapsHook', 'BRNPAEpisodeSampler', 'BRNPAEpisodeTrainLoop',
     'BRNPAFewShotMetricsHook', 'BRNPAFewShotModel', 'BRNPAPretrainModel',
     'brnpa_episode_collate']


def __getattr__(name: str):
    if name in _ENGINE:
        return getattr(importlib.import_module(f'{__name__}.engine'), name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
