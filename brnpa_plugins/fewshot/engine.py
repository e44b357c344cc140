"""Episodic few-shot training and testing through mmengine's ``Runner``.

Registered in mmengine's root registries (a config's ``custom_imports``):

``BRNPAFewShotModel`` (``MODELS``)
    A ``BaseModel`` around :class:`~.protonet.BRNPAProtoNet` or, with
    ``meta``, :class:`~.meta.BRNPAMetaLearner`. One call of ``forward`` is
    one episode: ``inputs=dict(support=..., query=...)`` and
    ``data_samples=dict(support_labels=..., query_labels=...)``. In
    ``'loss'`` mode it returns ``{'loss': ..., 'accuracy': ...}`` (the loss
    of :func:`~.training.episode_loss`, with ``distill`` the distillation
    loss from a frozen teacher), in ``'predict'`` mode one dict per episode
    with the query logits, predictions, labels and accuracy.
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
    of its 95% interval (:func:`~.training.confidence_interval`).
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

``ValLoop`` / ``TestLoop`` evaluate on the fixed episodes of the validation
and test splits. See ``configs/fewshot/mmengine/`` and ``docs/fewshot.md``.
"""
import contextlib
import logging
import os
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

from ..core.checks import check_positive_int, errors_naming
from .checkpoint import load_model_weights
from .data import (BENCHMARKS, IMAGENET_MEAN, IMAGENET_STD, SPLITS,
                   build_dataset, build_transform, check_root)
from .episodes import Episode, build_taskset, split_episode
from .meta import BRNPAMetaLearner
from .protonet import BRNPAProtoNet
from .training import (_accuracy, build_distillation, confidence_interval,
                       episode_loss, percent_result, python_random_seed)
from .visualize import save_episode_maps

#: Seeds of episode ``i`` are ``seed * SEED_STRIDE + i``: the episodes of
#: two seeds never overlap for fewer than SEED_STRIDE episodes.
SEED_STRIDE = 2**32


def episode_seed(seed: int, index: int) -> int:
    """The seed of episode ``index`` of a dataset seeded with ``seed``."""
    return int(seed) * SEED_STRIDE + int(index)


@contextlib.contextmanager
def seeded_episode(seed: int) -> Iterator[None]:
    """Seed Python's ``random`` (learn2learn's sampling) and torch's CPU
    generator (augmentation) for one episode; both states come back after."""
    with python_random_seed(seed), torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed % 2**63)
        yield


@DATASETS.register_module()
class BRNPAEpisodeDataset(Dataset):
    """``num_episodes`` N-way (K + Q)-shot episodes of one few-shot split.

    Args:
        benchmark (str): ``'mini-imagenet'``, ``'tiered-imagenet'``,
            ``'cifarfs'``, ``'fc100'``, ``'omniglot'`` or ``'folder'`` (see
            :func:`~.data.build_dataset`).
        root (str): The data root; nothing is downloaded.
        split (str): ``'train'``, ``'validation'`` or ``'test'``.
        ways, shots, queries (int): N, K and Q of each episode.
        num_episodes (int): Length of the dataset. For training, at least
            ``max_iters`` x the number of processes, or episodes repeat.
        seed (int): Episode ``i`` is drawn with the seed
            :func:`episode_seed` ``(seed, i)``. Defaults to 0.
        image_size (int): Side of the (square) images. Defaults to 84.
        mean, std: Normalisation, one value per channel.
        augment (bool): Random crop, colour jitter and flip. Defaults to
            False.
        channels (int, optional): 1 or 3; None: the benchmark's (1 for
            Omniglot), else 3.
        split_dirs (dict, optional): The split folders of ``'folder'``.
        class_split (Sequence[int], optional): Omniglot's class counts.
    """

    def __init__(self,
                 benchmark: str,
                 root: str,
                 split: str,
                 ways: int,
                 shots: int,
                 queries: int,
                 num_episodes: int,
                 seed: int = 0,
                 image_size: int = 84,
                 mean: Sequence[float] = IMAGENET_MEAN,
                 std: Sequence[float] = IMAGENET_STD,
                 augment: bool = False,
                 channels: Optional[int] = None,
                 split_dirs: Optional[Dict[str, str]] = None,
                 class_split: Optional[Sequence[int]] = None):
        owner = 'BRNPAEpisodeDataset: '
        if split not in SPLITS:
            raise ValueError(f'{owner}split must be one of {SPLITS}, got '
                             f'{split!r}')
        check_positive_int(num_episodes, 'num_episodes', owner,
                           'set dataset.num_episodes (for training, at '
                           'least train_cfg.max_iters).')
        if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
            raise ValueError(f'{owner}seed must be an integer >= 0, got '
                             f'{seed!r}')
        check_root(benchmark, root, (split, ), split_dirs)
        if channels is None:
            channels = BENCHMARKS[benchmark].channels \
                if benchmark in BENCHMARKS else 3
        transform = build_transform(
            int(image_size), mean, std, bool(augment),
            benchmark in BENCHMARKS and BENCHMARKS[benchmark].pixels_0_255,
            int(channels))
        self.split = split
        self.shots = shots
        self.num_episodes = num_episodes
        self.seed = seed
        self.channels = channels
        self.mean = tuple(mean)
        self.std = tuple(std)
        self.metainfo = dict(benchmark=benchmark, split=split, ways=ways,
                             shots=shots, queries=queries)
        self.taskset = build_taskset(
            build_dataset(benchmark, root, split, transform, split_dirs,
                          class_split), ways, shots, queries)

    def __len__(self) -> int:
        return self.num_episodes

    def __getitem__(self, index: int) -> Dict[str, Dict[str, torch.Tensor]]:
        """Episode ``index``: ``dict(inputs=dict(support, query),
        data_samples=dict(support_labels, query_labels))``."""
        if not 0 <= index < self.num_episodes:
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


@MODELS.register_module()
class BRNPAFewShotModel(BaseModel):
    """A BR-NPA few-shot learner as an mmengine model; one episode a step.

    Args:
        learner (dict): :class:`~.protonet.BRNPAProtoNet` arguments.
        meta (dict, optional): :class:`~.meta.BRNPAMetaLearner` arguments
            (``ways`` required, ``algorithm``, ``inner_lr``, ...): MAML or
            ANIL on the prototypical network's embedding. None: the
            prototypical network.
        learner_checkpoint (str, optional): Start from the learner weights
            of a ``tools/train_fewshot.py`` checkpoint (e.g. the
            ``latest.pth`` of its base-class pre-training) or a bare state
            dict of the same learner; a ``resume`` then replaces them.
        distill (dict, optional): Knowledge distillation from a frozen
            teacher, as ``distill`` of ``tools/train_fewshot.py``:
            ``teacher_checkpoint`` (required: its ``best.pth`` or
            ``latest.pth``), ``teacher_model`` (the teacher's
            ``BRNPAProtoNet`` arguments that differ from ``learner``, e.g.
            ``dict(high_resolution=False)``), ``temperature`` and ``alpha``.
            The ``'loss'`` mode then returns the distillation loss of
            :func:`~.training.episode_loss`. The teacher is not part of the
            model's weights (nor of its checkpoints). None: cross-entropy.
        data_preprocessor (dict, optional): mmengine's; None moves the
            episode to the model's device.
        init_cfg (dict, optional): mmengine's initialisation config.
    """

    def __init__(self,
                 learner: Optional[Dict[str, Any]] = None,
                 meta: Optional[Dict[str, Any]] = None,
                 learner_checkpoint: Optional[str] = None,
                 distill: Optional[Dict[str, Any]] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        network = BRNPAProtoNet(**dict(learner or {}))
        if meta is not None:
            meta = dict(meta)
            if 'ways' not in meta:
                raise ValueError(
                    'BRNPAFewShotModel: model.meta.ways is required (the '
                    'head has one output per way): set it to the ways of '
                    'the episodes, e.g. meta=dict(algorithm="anil", ways=5).')
            network = BRNPAMetaLearner(network, **meta)
        if learner_checkpoint is not None:
            with errors_naming('cannot load model.learner_checkpoint='
                               f'{learner_checkpoint!r} into the '
                               f'{type(network).__name__} of model.learner'
                               '/model.meta (the same model settings as the '
                               'run that saved it are needed)'):
                load_model_weights(network, learner_checkpoint)
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
        if mode not in ('loss', 'predict', 'tensor'):
            raise ValueError(f'BRNPAFewShotModel: mode must be "loss", '
                             f'"predict" or "tensor", got {mode!r}')
        episode = _episode(inputs, data_samples)
        if mode == 'loss':
            distillation = self.distillation
            if distillation is not None:
                _follow(distillation.teacher, episode.query.device)
            loss, logits = episode_loss(self.learner, episode, distillation)
            accuracy = _accuracy(logits.detach(), episode.query_labels)
            return {'loss': loss, 'accuracy': 100 * accuracy}
        logits = self.learner(episode.support, episode.support_labels,
                              episode.query)
        if mode == 'tensor':
            return logits
        predictions = logits.argmax(dim=1)
        correct = int((predictions == episode.query_labels).sum())
        return [dict(logits=logits.detach(), pred_label=predictions,
                     gt_label=episode.query_labels,
                     accuracy=correct / predictions.numel())]


#: The keys of ``model.distill``, with their defaults (None: required).
DISTILL_KEYS = dict(teacher_checkpoint=None, teacher_model=None,
                    temperature=1.0, alpha=1.0)


def _distillation(learner: Dict[str, Any], distill: Dict[str, Any]):
    """The frozen teacher of ``model.distill``, built and loaded as
    ``tools/train_fewshot.py`` builds its ``distill`` teacher."""
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
            '(the best.pth or latest.pth of the teacher trained by '
            'tools/train_fewshot.py)')
    teacher = BRNPAProtoNet(**{**learner,
                               **dict(distill['teacher_model'] or {})})
    with errors_naming('cannot load the teacher checkpoint '
                       f'model.distill.teacher_checkpoint={checkpoint!r} '
                       'into the BRNPAProtoNet of model.learner updated by '
                       'model.distill.teacher_model'):
        load_model_weights(teacher, checkpoint)
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
    ``(t * world_size + rank) % len(dataset)``. ``start`` (set by
    :class:`BRNPAEpisodeTrainLoop` on a resume) is the first iteration.

    Args:
        dataset: The episode dataset (the Runner passes it).
        seed: Unused (the episodes have their own seeds); the Runner passes
            it to every sampler.
    """

    def __init__(self, dataset, seed: Optional[int] = None):
        self.size = len(dataset)
        self.rank, self.world_size = get_dist_info()
        self.start = 0

    def __iter__(self) -> Iterator[int]:
        step = self.start
        while True:
            yield (step * self.world_size + self.rank) % self.size
            step += 1

    def __len__(self) -> int:
        return self.size

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
