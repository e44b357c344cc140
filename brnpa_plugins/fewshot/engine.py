"""Few-shot pre-training, training and testing through mmengine's ``Runner``.

Registered in mmengine's root registries (a config's ``custom_imports``):

``BRNPAFewShotModel`` (``MODELS``)
    A ``BaseModel`` around :class:`~.protonet.BRNPAProtoNet` or, with
    ``meta``, :class:`~.meta.BRNPAMetaLearner`. One call of ``forward`` is
    one episode: ``inputs=dict(support=..., query=...)`` and
    ``data_samples=dict(support_labels=..., query_labels=...)``. In
    ``'loss'`` mode it returns ``{'loss': ..., 'accuracy': ...}`` (the loss
    of :func:`~.losses.episode_loss`, with ``distill`` the distillation
    loss from a frozen teacher), in ``'predict'`` mode one dict per episode
    with the query logits, predictions, labels and accuracy. ``pretrained``
    starts the learner from a base-class pre-training.
``BRNPAPretrainModel`` (``MODELS``)
    Base-class pre-training: :class:`~.classifier.BaseClassifier` over the
    learner, trained on batches of :class:`BRNPABaseClassDataset`
    (cross-entropy over all base classes), validated and tested on
    episodes like ``BRNPAFewShotModel`` (prototypes of its embedding).
``BRNPABaseClassDataset`` (``DATASETS``)
    The images of one split (the training classes) with their class index
    0..K-1, for pre-training.
``BRNPAEpisodeDataset`` (``DATASETS``)
    ``num_episodes`` learn2learn tasks over one split, built by
    :func:`~.data.build_dataset` and :func:`~.episodes.build_taskset`.
    Item ``i`` is drawn with Python's ``random`` and torch's generator
    seeded from ``(seed, i)``: the same episode in every run, every worker
    and after a resume.
``brnpa_episode_collate`` (``FUNCTIONS``)
    Keeps one episode as one batch (the data loaders use ``batch_size=1``).
``BRNPAEpisodeAccuracy`` (``METRICS``)
    Mean query accuracy over the episodes, in percent, with the half-width
    of its 95% interval (:func:`~.accuracy.confidence_interval`).
``BRNPAEpisodeSampler`` (``DATA_SAMPLERS``) and ``BRNPAEpisodeTrainLoop``
    (``LOOPS``)
    mmengine's ``IterBasedTrainLoop`` trains one episode per iteration
    (``max_iters`` = episodes); on a resume it loads, and throws away, every
    batch already trained. With this sampler, the loop (an
    ``IterBasedTrainLoop``) instead starts the episode indices at the
    resumed iteration, so nothing is loaded twice, and the episodes are
    those an uninterrupted run trains on.

``BRNPAEpisodeMapsHook`` (``HOOKS``)
    After testing, saves the ranked maps of one test episode as PNG files
    in ``work_dir/maps`` (:func:`~.visualize.save_episode_maps`).
``BRNPAFewShotMetricsHook`` (``HOOKS``)
    After testing, writes the test accuracy in percent, its 95% interval
    and the episode count to ``work_dir/metrics.json`` (atomically).

``ValLoop`` / ``TestLoop`` evaluate on the fixed episodes of the validation
and test splits. See ``configs/fewshot/``, ``tools/train_fewshot.py`` and
``docs/fewshot.md``.
"""
import logging
import os
import sys
from typing import Any, Dict, Iterator, List, Optional, Sequence

import torch
from mmengine.dist import get_dist_info, is_main_process
from mmengine.evaluator import BaseMetric
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import BaseModel, is_model_wrapper
from mmengine.registry import (DATA_SAMPLERS, DATASETS, FUNCTIONS, HOOKS,
                               LOOPS, METRICS, MODELS)
from mmengine.runner import IterBasedTrainLoop
from torch.utils.data import Dataset, Sampler

from ..core.checks import (check_positive_int, errors_naming,
                           reject_unknown_kwargs)
from ..core.io import atomic_write_json
from .checkpoint import load_learner_weights
from .classifier import BaseClassifier
from .data import (BENCHMARKS, IMAGENET_MEAN, IMAGENET_STD, build_split,
                   check_split)
from .episodes import Episode, build_taskset, split_episode
from .meta import BRNPAMetaLearner
from .protonet import BRNPAProtoNet
from .accuracy import (confidence_interval, format_result, percent_result,
                       query_accuracy)
from .losses import build_distillation, episode_loss, pretrain_loss
from .seeding import episode_seed, seeded_episode
from .visualize import save_episode_maps


@DATASETS.register_module()
@reject_unknown_kwargs
class BRNPAEpisodeDataset(Dataset):
    """N-way (K + Q)-shot episodes of one few-shot split.

    Args:
        benchmark (str): ``'mini-imagenet'``, ``'tiered-imagenet'``,
            ``'cifarfs'``, ``'fc100'``, ``'omniglot'`` or ``'folder'`` (see
            :func:`~.data.build_dataset`).
        root (str): The data root; nothing is downloaded.
        split (str): ``'train'``, ``'validation'`` or ``'test'``.
        ways, shots, queries (int): N, K and Q of each episode.
        num_episodes (int, optional): How many different episodes there
            are; :class:`BRNPAEpisodeSampler` cycles through them. None: as
            many as asked for, every index a new episode (learn2learn's
            ``num_tasks=-1``, for training; such a dataset has no length, so
            validation and test need a number). Defaults to None.
        seed (int): Episode ``i`` is drawn with the seed
            :func:`~.seeding.episode_seed` ``(seed, i)``. Defaults to 0.
        image_size (int): Side of the (square) images. Defaults to 84.
        mean, std: Normalisation, one value per channel.
        augment (bool): Random crop, colour jitter and flip. Defaults to
            False.
        channels (int, optional): 1 or 3; None: the benchmark's (1 for
            Omniglot), else 3.
        split_dirs (dict, optional): The split folders of ``'folder'``.
        class_split (Sequence[int], optional): Omniglot's class counts.
        invert (bool, optional): Pixels ``1 - x`` before the normalisation;
            None: the benchmark's (True for Omniglot, as learn2learn's
            ``get_tasksets``), else False.
        class_rotations (Sequence[float], optional): Degrees for
            learn2learn's ``RandomClassRotation`` of every episode (see
            :func:`~.episodes.build_taskset`); None: the benchmark's
            (``(0, 90, 180, 270)`` for Omniglot, as ``get_tasksets``), else
            none; ``()``: none.
    """

    def __init__(self,
                 benchmark: str,
                 root: str,
                 split: str,
                 ways: int,
                 shots: int,
                 queries: int,
                 num_episodes: Optional[int] = None,
                 seed: int = 0,
                 image_size: int = 84,
                 mean: Sequence[float] = IMAGENET_MEAN,
                 std: Sequence[float] = IMAGENET_STD,
                 augment: bool = False,
                 channels: Optional[int] = None,
                 split_dirs: Optional[Dict[str, str]] = None,
                 class_split: Optional[Sequence[int]] = None,
                 invert: Optional[bool] = None,
                 class_rotations: Optional[Sequence[float]] = None):
        owner = 'BRNPAEpisodeDataset: '
        check_split(split, owner)
        if num_episodes is not None:
            check_positive_int(num_episodes, 'num_episodes', owner,
                               'set dataset.num_episodes, or None for new '
                               'episodes at every index (training).')
        if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
            raise ValueError(f'{owner}seed must be an integer >= 0, got '
                             f'{seed!r}')
        dataset, channels = build_split(
            benchmark, root, split, image_size, mean, std, augment, channels,
            split_dirs, class_split, invert)
        if class_rotations is None:
            class_rotations = BENCHMARKS[benchmark].class_rotations \
                if benchmark in BENCHMARKS else ()
        self.split = split
        self.shots = shots
        self.num_episodes = num_episodes
        self.seed = seed
        self.channels = channels
        self.mean = tuple(mean)
        self.std = tuple(std)
        self.metainfo = dict(benchmark=benchmark, split=split, ways=ways,
                             shots=shots, queries=queries)
        self.taskset = build_taskset(dataset, ways, shots, queries,
                                     class_rotations)

    @property
    def endless(self) -> bool:
        """Whether every index is a new episode (``num_episodes=None``)."""
        return self.num_episodes is None

    def __len__(self) -> int:
        if self.endless:
            raise TypeError(
                f'BRNPAEpisodeDataset of the {self.split} split has '
                'num_episodes=None (a new episode at every index) and so no '
                'length: draw its indices with BRNPAEpisodeSampler '
                '(training), or set dataset.num_episodes (validation and '
                'test, other samplers).')
        return self.num_episodes

    def __getitem__(self, index: int) -> Dict[str, Dict[str, torch.Tensor]]:
        """Episode ``index``: ``dict(inputs=dict(support, query),
        data_samples=dict(support_labels, query_labels))``."""
        if index < 0 or not (self.endless or index < self.num_episodes):
            raise IndexError(f'episode {index} of a dataset of '
                             f'{self.num_episodes} (num_episodes)')
        with seeded_episode(episode_seed(self.seed, index)):
            episode = split_episode(self.taskset.sample(), self.shots)
        return dict(inputs=dict(support=episode.support, query=episode.query),
                    data_samples=dict(support_labels=episode.support_labels,
                                      query_labels=episode.query_labels))


@FUNCTIONS.register_module()
def brnpa_episode_collate(batch: Sequence[dict]) -> dict:
    """The one episode of a batch, as it is (an episode is a batch)."""
    if len(batch) != 1:
        raise ValueError(
            f'brnpa_episode_collate got {len(batch)} episodes in one batch; '
            'set batch_size=1 in the few-shot data loaders (each iteration '
            'is one episode).')
    return batch[0]


def _episode(inputs: Dict[str, torch.Tensor],
             data_samples: Dict[str, torch.Tensor]) -> Episode:
    missing = [key for key, given in (
        ('inputs.support', inputs), ('inputs.query', inputs),
        ('data_samples.support_labels', data_samples),
        ('data_samples.query_labels', data_samples))
        if not isinstance(given, dict) or key.split('.')[1] not in given]
    if missing:
        raise ValueError(
            f'BRNPAFewShotModel: the episode has no {missing[0]}; feed it '
            'BRNPAEpisodeDataset items (collate_fn=dict(type='
            '"brnpa_episode_collate"), batch_size=1).')
    return Episode(inputs['support'], data_samples['support_labels'],
                   inputs['query'], data_samples['query_labels'])


@DATASETS.register_module()
@reject_unknown_kwargs
class BRNPABaseClassDataset(Dataset):
    """The images of one split with their class index, for pre-training.

    Item ``i`` is ``dict(inputs=image, data_samples=class index)``: the
    split's classes are numbered 0..K-1 in the order of their labels. The
    arguments are those of :class:`BRNPAEpisodeDataset` without the
    episodes (nor ``class_rotations``); ``split`` defaults to ``'train'``
    (the base classes) and ``augment`` to True. Batch it with ``collate_fn=dict(type=
    'default_collate')``.
    """

    def __init__(self,
                 benchmark: str,
                 root: str,
                 split: str = 'train',
                 image_size: int = 84,
                 mean: Sequence[float] = IMAGENET_MEAN,
                 std: Sequence[float] = IMAGENET_STD,
                 augment: bool = True,
                 channels: Optional[int] = None,
                 split_dirs: Optional[Dict[str, str]] = None,
                 class_split: Optional[Sequence[int]] = None,
                 invert: Optional[bool] = None):
        check_split(split, 'BRNPABaseClassDataset: ')
        self.dataset, self.channels = build_split(
            benchmark, root, split, image_size, mean, std, augment, channels,
            split_dirs, class_split, invert)
        labels = sorted(int(label) for label in self.dataset.labels)
        self.class_index = {label: index for index, label in enumerate(labels)}
        self.metainfo = dict(benchmark=benchmark, split=split,
                             classes=len(labels))

    @property
    def num_classes(self) -> int:
        """K, the number of classes of the split."""
        return len(self.class_index)

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> Dict[str, torch.Tensor]:
        image, label = self.dataset[index]
        return dict(inputs=image, data_samples=torch.tensor(
            self.class_index[int(label)]))


def _check_mode(owner: str, mode: str) -> None:
    if mode not in ('loss', 'predict', 'tensor'):
        raise ValueError(f'{owner}: mode must be "loss", "predict" or '
                         f'"tensor", got {mode!r}')


def _evaluate_episode(learner: torch.nn.Module, episode: Episode,
                      mode: str):
    """The query logits (``'tensor'``) or the predictions of one episode
    (``'predict'``: a list with one dict, its accuracy as a fraction)."""
    logits = learner(episode.support, episode.support_labels, episode.query)
    if mode == 'tensor':
        return logits
    predictions = logits.argmax(dim=1)
    correct = int((predictions == episode.query_labels).sum())
    return [dict(logits=logits.detach(), pred_label=predictions,
                 gt_label=episode.query_labels,
                 accuracy=correct / predictions.numel())]


def _pretrained(network: BRNPAProtoNet, path: str) -> BRNPAProtoNet:
    """``network`` with the learner weights of the checkpoint ``path``."""
    with errors_naming(f'cannot load model.pretrained={path!r} into the '
                       'BRNPAProtoNet of model.learner (the same '
                       'model.learner settings as the pre-training are '
                       'needed)'):
        load_learner_weights(network, path)
    print_log(f'learner weights loaded from {path}', logger='current',
              level=logging.INFO)
    return network


@MODELS.register_module()
@reject_unknown_kwargs
class BRNPAFewShotModel(BaseModel):
    """A BR-NPA few-shot learner as an mmengine model; one episode a step.

    Args:
        learner (dict): :class:`~.protonet.BRNPAProtoNet` arguments.
        meta (dict, optional): :class:`~.meta.BRNPAMetaLearner` arguments
            (``ways`` required, ``algorithm``, ``inner_lr``, ...): MAML or
            ANIL on the prototypical network's embedding. None: the
            prototypical network.
        pretrained (str, optional): Start the prototypical network (the
            embedding of ``meta``) from the learner weights of a
            checkpoint: one of a :class:`BRNPAPretrainModel` run (the
            base-class pre-training), of another ``BRNPAFewShotModel`` run
            or a bare state dict, loaded with ``weights_only=True``; every
            key must match. A ``resume`` then replaces them.
        distill (dict, optional): Knowledge distillation from a frozen
            teacher: ``teacher_checkpoint`` (required: a checkpoint of the
            teacher's run), ``teacher_model`` (the teacher's
            ``BRNPAProtoNet`` arguments that differ from ``learner``, e.g.
            ``dict(high_resolution=False)``), ``temperature`` and ``alpha``.
            The ``'loss'`` mode then returns the distillation loss of
            :func:`~.losses.episode_loss`. The teacher is not part of the
            model's weights (nor of its checkpoints). None: cross-entropy.
        data_preprocessor (dict, optional): mmengine's; None moves the
            episode to the model's device.
        init_cfg (dict, optional): mmengine's initialisation config.
    """

    def __init__(self,
                 learner: Optional[Dict[str, Any]] = None,
                 meta: Optional[Dict[str, Any]] = None,
                 pretrained: Optional[str] = None,
                 distill: Optional[Dict[str, Any]] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        network = BRNPAProtoNet(**dict(learner or {}))
        if pretrained is not None:
            network = _pretrained(network, pretrained)
        if meta is not None:
            meta = dict(meta)
            if 'ways' not in meta:
                raise ValueError(
                    'BRNPAFewShotModel: model.meta.ways is required (the '
                    'head has one output per way): set it to the ways of '
                    'the episodes, e.g. meta=dict(algorithm="anil", ways=5).')
            network = BRNPAMetaLearner(network, **meta)
        self.learner = network
        # A plain attribute, not a submodule: the frozen teacher stays out of
        # the state dict, the optimiser and model.train().
        self.distillation = None if distill is None else _distillation(
            dict(learner or {}), dict(distill))

    def forward(self,
                inputs: Dict[str, torch.Tensor],
                data_samples: Optional[Dict[str, torch.Tensor]] = None,
                mode: str = 'tensor'):
        """One episode; ``mode`` is ``'loss'``, ``'predict'`` or
        ``'tensor'`` (the query logits)."""
        _check_mode('BRNPAFewShotModel', mode)
        episode = _episode(inputs, data_samples)
        if mode != 'loss':
            return _evaluate_episode(self.learner, episode, mode)
        distillation = self.distillation
        if distillation is not None:
            _follow(distillation.teacher, episode.query.device)
        loss, logits = episode_loss(self.learner, episode, distillation)
        accuracy = query_accuracy(logits.detach(), episode.query_labels)
        return {'loss': loss, 'accuracy': 100 * accuracy}


@MODELS.register_module()
@reject_unknown_kwargs
class BRNPAPretrainModel(BaseModel):
    """Base-class pre-training of a BR-NPA learner as an mmengine model.

    Training batches (``inputs`` B x C x H x W, ``data_samples`` the class
    indices, from :class:`BRNPABaseClassDataset`) go through
    :class:`~.classifier.BaseClassifier`: the learner's concatenated part
    vectors, dropout and a linear layer over all base classes; ``'loss'``
    mode returns the cross-entropy (and the batch accuracy in % for the
    log). Episodes (``inputs=dict(support=..., query=...)``, from
    :class:`BRNPAEpisodeDataset`) are evaluated by the learner itself, as
    :class:`BRNPAFewShotModel` does: validation and test measure the
    few-shot accuracy of the embedding being pre-trained.

    The learner's weights are saved under ``classifier.learner.``;
    ``BRNPAFewShotModel(pretrained=...)`` starts from them.

    Args:
        learner (dict): :class:`~.protonet.BRNPAProtoNet` arguments.
        num_classes (int): Number of base (training) classes K.
        dropout (float): Dropout before the linear layer. Defaults to 0.
        data_preprocessor (dict, optional): mmengine's.
        init_cfg (dict, optional): mmengine's initialisation config.
    """

    def __init__(self,
                 learner: Optional[Dict[str, Any]] = None,
                 num_classes: Optional[int] = None,
                 dropout: float = 0.0,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        self.classifier = BaseClassifier(
            BRNPAProtoNet(**dict(learner or {})), num_classes, dropout)

    @property
    def learner(self) -> BRNPAProtoNet:
        """The learner being pre-trained (shared with the classifier)."""
        return self.classifier.learner

    def forward(self, inputs, data_samples=None, mode: str = 'tensor'):
        """A batch of base-class images (``'loss'``; ``'tensor'``: the class
        logits) or an episode (``'predict'``, ``'tensor'``)."""
        _check_mode('BRNPAPretrainModel', mode)
        if isinstance(inputs, dict):
            if mode == 'loss':
                raise ValueError(
                    'BRNPAPretrainModel trains on BRNPABaseClassDataset '
                    'batches, got an episode: set train_dataloader.dataset '
                    "type='BRNPABaseClassDataset' (and collate_fn=dict(type="
                    "'default_collate')).")
            return _evaluate_episode(self.learner,
                                     _episode(inputs, data_samples), mode)
        if mode == 'tensor':
            return self.classifier(inputs)
        if mode == 'predict':
            raise ValueError(
                'BRNPAPretrainModel is validated and tested on episodes: '
                "set val_dataloader / test_dataloader dataset type="
                "'BRNPAEpisodeDataset'.")
        loss, logits = pretrain_loss(self.classifier, inputs, data_samples)
        accuracy = query_accuracy(logits.detach(), data_samples)
        return {'loss': loss, 'accuracy': 100 * accuracy}


#: The keys of ``model.distill``, with their defaults (None: required).
DISTILL_KEYS = dict(teacher_checkpoint=None, teacher_model=None,
                    temperature=1.0, alpha=1.0)


def _distillation(learner: Dict[str, Any], distill: Dict[str, Any]):
    """The frozen teacher of ``model.distill``, built and loaded."""
    unknown = sorted(set(distill) - set(DISTILL_KEYS))
    if unknown:
        raise ValueError(f'BRNPAFewShotModel: model.distill.{unknown[0]} is '
                         'not a key of model.distill (its keys: '
                         f'{sorted(DISTILL_KEYS)})')
    distill = {**DISTILL_KEYS, **distill}
    checkpoint = distill['teacher_checkpoint']
    if checkpoint is None:
        raise ValueError(
            'BRNPAFewShotModel: model.distill.teacher_checkpoint is required '
            '(a checkpoint of the teacher\'s run, e.g. its '
            'best_fewshot_accuracy_iter_*.pth)')
    teacher = BRNPAProtoNet(**{**learner,
                               **dict(distill['teacher_model'] or {})})
    with errors_naming('cannot load the teacher checkpoint '
                       f'model.distill.teacher_checkpoint={checkpoint!r} '
                       'into the BRNPAProtoNet of model.learner updated by '
                       'model.distill.teacher_model'):
        load_learner_weights(teacher, checkpoint)
    print_log(f'distilling from {checkpoint}', logger='current',
              level=logging.INFO)
    return build_distillation(teacher, distill['temperature'],
                              distill['alpha'])


def _follow(module: torch.nn.Module, device: torch.device) -> None:
    """Move ``module`` (the teacher, outside the model) to ``device``."""
    parameter = next(module.parameters(), None)
    if parameter is not None and parameter.device != device:
        module.to(device)


@METRICS.register_module()
class BRNPAEpisodeAccuracy(BaseMetric):
    """Mean episode accuracy in percent and the half-width of its 95%
    interval (Student t over the episodes).

    Reports ``{prefix}/accuracy``, ``{prefix}/ci95`` (both in percent) and
    ``{prefix}/episodes``; the prefix defaults to ``fewshot``.
    """
    default_prefix = 'fewshot'

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            if 'accuracy' not in sample:
                raise ValueError(
                    'BRNPAEpisodeAccuracy needs the predictions of '
                    'BRNPAFewShotModel (an "accuracy" per episode), got the '
                    f'keys {sorted(sample)}')
            self.results.append(float(sample['accuracy']))

    def compute_metrics(self, results: List[float]) -> Dict[str, float]:
        result = percent_result(confidence_interval(
            torch.tensor(results, dtype=torch.float64)))
        return {'accuracy': result['accuracy_pct'],
                'ci95': result['ci95_pct'], 'episodes': len(results)}


@DATA_SAMPLERS.register_module()
class BRNPAEpisodeSampler(Sampler):
    """Endless episode indices for training, one per process and iteration.

    Iteration ``t`` of process ``rank`` (of ``world_size``) draws episode
    ``t * world_size + rank``: a new episode every time from a dataset with
    ``num_episodes=None``; modulo ``num_episodes`` (the episodes repeat)
    from one with a number. ``start`` (set by
    :class:`BRNPAEpisodeTrainLoop` on a resume) is the first iteration.

    Args:
        dataset: The episode dataset (the Runner passes it).
        seed: Unused (the episodes have their own seeds); the Runner passes
            it to every sampler.
    """

    def __init__(self, dataset, seed: Optional[int] = None):
        #: The number of episodes; None: endless.
        self.size = None if getattr(dataset, 'endless', False) else \
            len(dataset)
        self.rank, self.world_size = get_dist_info()
        self.start = 0

    def __iter__(self) -> Iterator[int]:
        step = self.start
        while True:
            index = step * self.world_size + self.rank
            yield index if self.size is None else index % self.size
            step += 1

    def __len__(self) -> int:
        # mmengine's hooks ask the training data loader for its length (the
        # end of an epoch, which iteration-based training never reaches).
        return sys.maxsize if self.size is None else self.size

    def set_epoch(self, epoch: int) -> None:
        """Nothing to do: the order does not depend on the epoch."""


class _SkipFirst:
    """An iterator whose first ``count`` items are None, then ``iterator``'s
    (the batches a resumed loop skips, without loading them)."""

    def __init__(self, iterator, count: int):
        self.iterator = iterator
        self.count = count

    def __iter__(self):
        return self

    def __next__(self):
        if self.count > 0:
            self.count -= 1
            return None
        return next(self.iterator)


@LOOPS.register_module()
class BRNPAEpisodeTrainLoop(IterBasedTrainLoop):
    """``IterBasedTrainLoop`` (same arguments) that resumes without loading
    the episodes already trained, when its sampler is a
    :class:`BRNPAEpisodeSampler`; with another sampler it is the same as
    mmengine's loop."""

    def run(self):
        sampler = getattr(self.dataloader, 'sampler', None)
        if isinstance(sampler, BRNPAEpisodeSampler) and \
                sampler.size is not None and \
                sampler.size < self._max_iters * sampler.world_size:
            print_log(
                f'the {sampler.size} training episodes (num_episodes) repeat: '
                f'{self._max_iters} iterations of {sampler.world_size} '
                'process(es) draw more; set train_dataloader.dataset.'
                'num_episodes=None for a new episode every time',
                logger='current', level=logging.WARNING)
        if self._iter > 0 and isinstance(sampler, BRNPAEpisodeSampler):
            sampler.start = self._iter
            # A fresh iterator: the first one already asked for indices
            # from iteration 0.
            self.dataloader_iterator = _SkipFirst(
                type(self.dataloader_iterator)(self.dataloader), self._iter)
            print_log(f'resuming at episode iteration {self._iter}: the '
                      'episodes already trained are skipped without being '
                      'loaded', logger='current', level=logging.INFO)
        return super().run()


@HOOKS.register_module()
@reject_unknown_kwargs
class BRNPAEpisodeMapsHook(Hook):
    """After testing, save the ranked maps of one test episode.

    Draws episode ``episode`` of the test dataset (a
    :class:`BRNPAEpisodeDataset`), runs the tested learner's
    ``forward_with_maps`` on it and writes up to ``max_images`` support and
    ``max_images`` query images with :func:`~.visualize.save_episode_maps`
    into ``work_dir/maps`` (the main process only).

    Args:
        max_images (int): Support and query images each. Defaults to 5.
        episode (int): Index of the test episode. Defaults to 0.
        out_dir (str, optional): Where the PNG files go; None:
            ``work_dir/maps``.
    """
    priority = 'LOW'

    def __init__(self, max_images: int = 5, episode: int = 0,
                 out_dir: Optional[str] = None):
        check_positive_int(max_images, 'max_images', 'BRNPAEpisodeMapsHook: ')
        if not isinstance(episode, int) or episode < 0:
            raise ValueError('BRNPAEpisodeMapsHook: episode must be an '
                             f'integer >= 0, got {episode!r}')
        self.max_images = max_images
        self.episode = episode
        self.out_dir = out_dir
        self.paths: List[str] = []

    @torch.no_grad()
    def after_test(self, runner) -> None:
        if not is_main_process():
            return
        dataset = runner.test_dataloader.dataset
        if not isinstance(dataset, BRNPAEpisodeDataset):
            raise TypeError('BRNPAEpisodeMapsHook needs a BRNPAEpisodeDataset '
                            f'test dataset, got {type(dataset).__name__}')
        model = runner.model.module if is_model_wrapper(runner.model) \
            else runner.model
        learner = model.learner
        item = dataset[self.episode]
        device = next(learner.parameters()).device
        episode = Episode(*(tensor.to(device) for tensor in (
            item['inputs']['support'], item['data_samples']['support_labels'],
            item['inputs']['query'], item['data_samples']['query_labels'])))
        was_training = learner.training
        learner.eval()
        try:
            output = learner.forward_with_maps(
                episode.support, episode.support_labels, episode.query)
        finally:
            learner.train(was_training)
        directory = self.out_dir or os.path.join(runner.work_dir, 'maps')
        self.paths = save_episode_maps(directory, episode, output,
                                       dataset.mean, dataset.std,
                                       self.max_images)
        print_log(f'saved {len(self.paths)} ranked-map images of test '
                  f'episode {self.episode} to {directory}', logger='current',
                  level=logging.INFO)


#: Message-hub key under which ``tools/train_fewshot.py`` records the
#: checkpoint it tests (None: the model the runner holds).
TESTED_CHECKPOINT = 'fewshot_tested_checkpoint'


def _tested_checkpoint(runner) -> Optional[str]:
    """The checkpoint a test ran on (see :class:`BRNPAFewShotMetricsHook`)."""
    if TESTED_CHECKPOINT in runner.message_hub.runtime_info:
        return runner.message_hub.get_info(TESTED_CHECKPOINT)
    return runner.cfg.get('load_from')


@HOOKS.register_module()
@reject_unknown_kwargs
class BRNPAFewShotMetricsHook(Hook):
    """After testing, write the test result to ``work_dir/metrics.json``.

    The file (written atomically, on the main process) holds ``test``:
    ``accuracy_pct`` (mean query accuracy over the episodes, in %),
    ``ci95_pct`` (half-width of its 95% interval, in %), ``result``
    (``"<mean> ± <half-width>"``, one decimal), ``episodes``, the ``ways``,
    ``shots`` and ``queries`` of the test episodes and ``checkpoint`` (the
    file tested: the one recorded under :data:`TESTED_CHECKPOINT`, else
    the config's ``load_from``, as ``tools/test.py CONFIG CHECKPOINT``
    sets it; None: the model the runner held).

    Args:
        prefix (str): The evaluator's prefix. Defaults to ``'fewshot'``
            (:class:`BRNPAEpisodeAccuracy`).
        filename (str): Name of the file in ``work_dir``. Defaults to
            ``'metrics.json'``.
    """
    priority = 'LOW'

    def __init__(self, prefix: str = 'fewshot',
                 filename: str = 'metrics.json'):
        self.prefix = prefix
        self.filename = filename
        self.path: Optional[str] = None

    def after_test_epoch(self, runner, metrics=None) -> None:
        if not is_main_process():
            return
        metrics = dict(metrics or {})
        keys = [f'{self.prefix}/{name}' for name in ('accuracy', 'ci95',
                                                     'episodes')]
        missing = [key for key in keys if key not in metrics]
        if missing:
            raise KeyError(
                f'BRNPAFewShotMetricsHook: the test gave no {missing[0]} '
                f'(its metrics: {sorted(metrics)}); use test_evaluator='
                "dict(type='BRNPAEpisodeAccuracy') or set the hook's prefix.")
        accuracy, ci95, episodes = (metrics[key] for key in keys)
        dataset = getattr(runner.test_dataloader, 'dataset', None)
        info = getattr(dataset, 'metainfo', None) or {}
        test = {**format_result(float(accuracy), float(ci95)),
                'episodes': int(episodes),
                **{key: info[key] for key in ('ways', 'shots', 'queries')
                   if key in info},
                'checkpoint': _tested_checkpoint(runner)}
        self.path = atomic_write_json(
            os.path.join(runner.work_dir, self.filename), {'test': test},
            ensure_ascii=False)
        print_log(f'test accuracy {test["result"]} % (mean and 95% '
                  f'confidence interval over {test["episodes"]} episodes), '
                  f'written to {self.path}', logger='current',
                  level=logging.INFO)
