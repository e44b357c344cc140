"""Run a few-shot experiment from a config: pre-train, train, validate, test.

The phases, each optional, run in order and can be resumed from the latest
checkpoint:

1. ``pretrain``: standard classification of all base classes (epochs);
2. ``train``: episodic training, validated every ``val_interval`` episodes
   (the best validation model is kept in ``best.pth``);
3. test: mean accuracy and 95% confidence interval over ``test.episodes``
   episodes, written to ``metrics.json``, and the ranked maps of one test
   episode written to ``maps/``.

The config sections are described in ``configs/fewshot/README.md``.
"""
import copy
import inspect
import logging
import os
import random
import sys
from typing import Any, Dict, Optional

import numpy as np
import torch
from torch.utils.data import DataLoader

from ..core.checks import check_config_keys, check_kwargs, errors_naming
from .checkpoint import (BEST, LATEST, load_checkpoint, load_model_weights,
                         rng_state, save_checkpoint, save_json,
                         set_rng_state)
from .classifier import BaseClassifier
from .data import (BENCHMARKS, IMAGENET_MEAN, IMAGENET_STD, SPLITS,
                   build_dataset, build_transform, check_root)
from .episodes import build_taskset, split_episode
from .meta import BRNPAMetaLearner
from .protonet import BRNPAProtoNet
from .training import (build_distillation, evaluate, percent_result,
                       pretrain_epoch, python_random_seed, train_episodes)
from .visualize import save_episode_maps

logger = logging.getLogger(__name__)


#: Marks a key without a default.
REQUIRED = object()
#: Every key the runner reads, with its default: what a config may set.
#: ``pretrain``, ``train``, ``distill``, ``visualize`` and ``meta`` set to
#: None (or absent) are switched off; ``model`` holds the arguments of
#: BRNPAProtoNet and ``meta`` those of BRNPAMetaLearner.
DEFAULTS: Dict[str, Any] = {
    'seed': 0,
    'device': None,  # 'cuda' when available, else 'cpu'
    'progress': True,
    'work_dir': None,  # where tools/train_fewshot.py writes
    'model': {
        name: REQUIRED if parameter.default is parameter.empty else
        parameter.default
        for name, parameter in inspect.signature(
            BRNPAProtoNet).parameters.items()
    },
    'data': dict(benchmark=None, root=REQUIRED, split_dirs=None,
                 class_split=None, channels=None, image_size=84,
                 mean=IMAGENET_MEAN, std=IMAGENET_STD, augment=True,
                 num_workers=0),
    'train_episode': dict(ways=REQUIRED, shots=REQUIRED, queries=REQUIRED),
    'test_episode': dict(ways=REQUIRED, shots=REQUIRED, queries=REQUIRED),
    'pretrain': dict(epochs=REQUIRED, batch_size=64, dropout=0.0,
                     optimizer=None, scheduler=None),
    'train': dict(episodes=0, val_interval=None, optimizer=None,
                  scheduler=None),
    'val': dict(episodes=600, seed=1),
    'test': dict(episodes=600, seed=2),
    'distill': dict(teacher_checkpoint=REQUIRED, teacher_model=None,
                    temperature=1.0, alpha=1.0),
    'visualize': dict(max_images=5),
    # MAML or ANIL with a linear head on the parts instead of prototypes.
    'meta': dict(algorithm=REQUIRED, ways=None, inner_lr=0.1,
                 adaptation_steps=5, eval_adaptation_steps=None,
                 first_order=False),
}


def _config_name(cfg) -> str:
    filename = getattr(cfg, 'filename', None)
    return f'config {filename}' if filename else 'config'


def check_config(cfg) -> None:
    """Raise an UnknownKeyError (a ValueError) for a key nothing reads.

    The message names the key with its section, the config file, the
    closest known key and the known keys, from :data:`DEFAULTS`.
    """
    check_config_keys(dict(cfg.items()), DEFAULTS, _config_name(cfg))


def _section(cfg, name: str,
             always: bool = False) -> Optional[Dict[str, Any]]:
    """A config section over its :data:`DEFAULTS`, as a plain dict.

    A section that is None or absent gives None (switched off), or its
    defaults when ``always``.
    """
    value = cfg.get(name)
    if value is None and not always:
        return None
    section = {**DEFAULTS[name], **dict(value or {})}
    missing = [key for key, item in section.items() if item is REQUIRED]
    if missing:
        raise ValueError(f'{_config_name(cfg)}: {name}.{missing[0]} is '
                         'required (configs/fewshot/README.md lists the keys '
                         'of each section)')
    return section


def _option(cfg, key: str) -> Any:
    """A top-level value, or its default."""
    value = cfg.get(key)
    return DEFAULTS[key] if value is None else value


def _build(namespace, key: str, spec: Dict[str, Any], *args):
    """``dict(type=Name, **kwargs)`` -> ``namespace.Name(*args, **kwargs)``.

    Used for ``optimizer`` (``torch.optim``) and ``scheduler``
    (``torch.optim.lr_scheduler``) entries.
    """
    options = dict(spec or {})
    name = options.pop('type', None)
    if not isinstance(name, str) or not hasattr(namespace, name):
        raise ValueError(f'{key}.type must name a class of '
                         f'{namespace.__name__} (e.g. {key}=dict(type=...,'
                         f' ...)), got {name!r}')
    target = getattr(namespace, name)
    check_kwargs(target, options, f'{key} {name}', given=len(args))
    return target(*args, **options)


def seed_everything(seed: int) -> None:
    """Seed Python (learn2learn's sampling), NumPy and torch."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


class FewShotRunner:
    """Runs the phases of one config in one work directory.

    Args:
        cfg: An mmengine ``Config`` (or a dict of its sections).
        work_dir (str): Where checkpoints, metrics, logs and maps go.
        resume (str, optional): A checkpoint to resume from, or ``'auto'``
            for ``WORK_DIR/latest.pth`` when it exists.
    """

    def __init__(self, cfg, work_dir: str, resume: Optional[str] = None):
        check_config(cfg)
        self.cfg = cfg
        self.work_dir = work_dir
        self.data_cfg = _section(cfg, 'data', always=True)
        benchmark = self.data_cfg['benchmark']
        if benchmark is None:
            raise ValueError('data.benchmark is required: one of '
                             f'{sorted(BENCHMARKS) + ["folder"]}')
        # Fail before any model is built if a split is missing.
        check_root(benchmark, self.data_cfg['root'], SPLITS,
                   self.data_cfg['split_dirs'])
        self.progress = bool(_option(cfg, 'progress'))
        device = _option(cfg, 'device') or ('cuda' if torch.cuda.is_available()
                                            else 'cpu')
        self.device = torch.device(device)
        # None: the benchmark's (1 for Omniglot), else 3.
        if self.data_cfg['channels'] is None:
            self.data_cfg['channels'] = BENCHMARKS[benchmark].channels \
                if benchmark in BENCHMARKS else 3
        # A mean or std that does not fit the channels stops the run here.
        self._transform(augment=False)
        seed_everything(int(_option(cfg, 'seed')))
        self.model = self._build_model()
        self.model.to(self.device)
        self.status = {'phase': 'pretrain', 'step': 0, 'validation': [],
                       'best': None}
        # A run resumed into another work directory tests the best model of
        # the run it came from, until it validates a better one.
        self.best_paths = [os.path.join(work_dir, BEST)]
        # The phase the optimiser state in the checkpoint belongs to.
        self.resumed_phase = None
        self.state_path = None
        self.state = self._resume_state(resume)
        if self.state is not None:
            self.model.load_state_dict(self.state['model'])
            self.status = copy.deepcopy(self.state['status'])
            self.resumed_phase = self.status['phase']
            self.best_paths.append(
                os.path.join(os.path.dirname(self.state_path), BEST))
            set_rng_state(self.state['rng'])
            logger.info('resumed from %s (phase %s, step %d)',
                        self.state_path, self.status['phase'],
                        self.status['step'])

    def _build_model(self):
        """The prototypical network, or MAML/ANIL on its embedding when the
        config has a ``meta`` section."""
        model = BRNPAProtoNet(**self._model_cfg())
        meta = _section(self.cfg, 'meta')
        if meta is None:
            return model
        train_ways = _section(self.cfg, 'train_episode', always=True)['ways']
        test_ways = _section(self.cfg, 'test_episode', always=True)['ways']
        ways = meta.pop('ways') or train_ways
        for key, value in (('train_episode.ways', train_ways),
                           ('test_episode.ways', test_ways)):
            if value != ways:
                raise ValueError(
                    f'{_config_name(self.cfg)}: {key}={value} but the '
                    f'{meta["algorithm"]} head has meta.ways={ways} outputs; '
                    'train and test episodes must have the same ways.')
        return BRNPAMetaLearner(model, ways, **meta)

    def _model_cfg(self, **overrides) -> Dict[str, Any]:
        """The ``model`` section; ``in_channels`` None follows the data."""
        model = {**_section(self.cfg, 'model', always=True), **overrides}
        if model['in_channels'] is None:
            model['in_channels'] = self.data_cfg['channels']
        elif model['in_channels'] != self.data_cfg['channels']:
            raise ValueError(
                f'model.in_channels={model["in_channels"]} but the images '
                f'have {self.data_cfg["channels"]} channel(s) (data.channels'
                '); leave model.in_channels=None to follow the data.')
        return model

    def _resume_state(self, resume: Optional[str]):
        if resume is None:
            return None
        if resume == 'auto':
            resume = os.path.join(self.work_dir, LATEST)
            if not os.path.isfile(resume):
                logger.info('no %s to resume from: starting afresh', resume)
                return None
        self.state_path = resume
        # On the CPU: the RNG states must stay there, and the model and
        # optimiser copy their tensors to the device when loading them.
        return load_checkpoint(resume)

    # ------------------------------------------------------------------ data
    def _transform(self, augment: bool):
        data = self.data_cfg
        benchmark = data['benchmark']
        return build_transform(
            int(data['image_size']), data['mean'], data['std'], augment,
            benchmark in BENCHMARKS and BENCHMARKS[benchmark].pixels_0_255,
            int(data['channels']))

    def _dataset(self, split: str, augment: bool = False):
        data = self.data_cfg
        return build_dataset(data['benchmark'], data['root'], split,
                             self._transform(augment), data['split_dirs'],
                             data['class_split'])

    def _taskset(self, split: str, episode_key: str, augment: bool = False):
        episode = _section(self.cfg, episode_key, always=True)
        taskset = build_taskset(self._dataset(split, augment),
                                episode['ways'], episode['shots'],
                                episode['queries'])
        return taskset, episode['shots']

    # ----------------------------------------------------------- checkpoints
    def _save(self, path: str, **extra) -> None:
        state = {'model': self.model.state_dict(), 'status': self.status,
                 'rng': rng_state(), **extra}
        save_checkpoint(state, os.path.join(self.work_dir, path))

    def _optimizer(self, params, phase_cfg: Dict[str, Any]):
        """Build the phase's optimiser and scheduler, restoring their states
        when resuming inside this phase."""
        phase = self.status['phase']
        optimizer = _build(torch.optim, f'{phase}.optimizer',
                           phase_cfg['optimizer'], params)
        scheduler = None
        if phase_cfg['scheduler']:
            scheduler = _build(torch.optim.lr_scheduler, f'{phase}.scheduler',
                               phase_cfg['scheduler'], optimizer)
        if self.resumed_phase == self.status['phase'] and \
                'optimizer' in self.state:
            optimizer.load_state_dict(self.state['optimizer'])
            if scheduler is not None:
                scheduler.load_state_dict(self.state['scheduler'])
        return optimizer, scheduler

    def _next_phase(self, phase: str) -> None:
        self.status.update(phase=phase, step=0)
        self._save(LATEST)

    @staticmethod
    def _states(optimizer, scheduler) -> Dict[str, Any]:
        states = {'optimizer': optimizer.state_dict()}
        if scheduler is not None:
            states['scheduler'] = scheduler.state_dict()
        return states

    # ---------------------------------------------------------------- phases
    def pretrain(self) -> None:
        """Classify all base classes with a linear layer, epoch by epoch."""
        cfg = _section(self.cfg, 'pretrain')
        if cfg is not None and self.status['step'] < cfg['epochs']:
            dataset = self._dataset('train', self.data_cfg['augment'])
            labels = sorted(dataset.labels)
            lookup = torch.full((max(labels) + 1, ), -1, dtype=torch.long)
            lookup[labels] = torch.arange(len(labels))
            classifier = BaseClassifier(self.model, len(labels),
                                        cfg['dropout'])
            classifier.to(self.device)
            if self.resumed_phase == 'pretrain' and \
                    'classifier' in self.state:
                classifier.fc.load_state_dict(self.state['classifier'])
            optimizer, scheduler = self._optimizer(classifier.parameters(),
                                                   cfg)
            loader = DataLoader(dataset, batch_size=cfg['batch_size'],
                                shuffle=True,
                                num_workers=self.data_cfg['num_workers'],
                                pin_memory=self.device.type == 'cuda')
            while self.status['step'] < cfg['epochs']:
                stats = pretrain_epoch(classifier, loader, lookup, optimizer,
                                       self.device, self.progress)
                if scheduler is not None:
                    scheduler.step()
                self.status['step'] += 1
                logger.info('pre-training epoch %d/%d: loss %.4f, accuracy '
                            '%.4f', self.status['step'], cfg['epochs'],
                            stats.loss, stats.accuracy)
                self._save(LATEST, classifier=classifier.fc.state_dict(),
                           **self._states(optimizer, scheduler))
        self._next_phase('train')

    def train(self) -> None:
        """Episodic training, validated (and checkpointed) at intervals."""
        cfg = _section(self.cfg, 'train')
        total = 0 if cfg is None else int(cfg['episodes'])
        if self.status['step'] < total:
            taskset, shots = self._taskset('train', 'train_episode',
                                           self.data_cfg['augment'])
            val_taskset, val_shots = self._taskset('validation',
                                                   'test_episode')
            val_cfg = _section(self.cfg, 'val', always=True)
            optimizer, scheduler = self._optimizer(self.model.parameters(),
                                                   cfg)
            distillation = self._distillation()
            interval = int(cfg['val_interval'] or total)
            while self.status['step'] < total:
                count = min(interval, total - self.status['step'])
                stats = train_episodes(self.model, taskset, shots, optimizer,
                                       scheduler, count, distillation,
                                       self.device, self.progress)
                self.status['step'] += count
                accuracy = evaluate(self.model, val_taskset, val_shots,
                                    int(val_cfg['episodes']),
                                    int(val_cfg['seed']), self.device,
                                    self.progress)
                record = {'episode': self.status['step'],
                          'loss': stats.loss, **percent_result(accuracy)}
                self.status['validation'].append(record)
                logger.info('episode %d/%d: train loss %.4f, validation '
                            'accuracy %s %%', self.status['step'], total,
                            stats.loss, record['result'])
                best = self.status['best']
                # A record of an older run may hold the fraction instead.
                if best is None or record['accuracy_pct'] > best.get(
                        'accuracy_pct', 100 * best.get('accuracy', 0.0)):
                    self.status['best'] = record
                    self._save(BEST)
                self._save(LATEST, **self._states(optimizer, scheduler))
        self._next_phase('test')

    def _distillation(self):
        cfg = _section(self.cfg, 'distill')
        if cfg is None:
            return None
        teacher = BRNPAProtoNet(**self._model_cfg(
            **dict(cfg['teacher_model'] or {})))
        checkpoint = cfg['teacher_checkpoint']
        with errors_naming('cannot load the teacher checkpoint '
                           f'distill.teacher_checkpoint={checkpoint!r}'):
            load_model_weights(teacher, checkpoint)
        logger.info('distilling from %s', checkpoint)
        return build_distillation(teacher.to(self.device),
                                  cfg['temperature'], cfg['alpha'])

    def test(self) -> Dict[str, Any]:
        """Test the best validation model (or the last one) and save maps."""
        tested = 'last model'
        if self.status['best'] is not None:
            best = [p for p in self.best_paths if os.path.isfile(p)]
            if best:
                load_model_weights(self.model, best[0])
                tested = best[0]
        test_cfg = _section(self.cfg, 'test', always=True)
        taskset, shots = self._taskset('test', 'test_episode')
        seed = int(test_cfg['seed'])
        accuracy = evaluate(self.model, taskset, shots,
                            int(test_cfg['episodes']), seed,
                            self.device, self.progress)
        episode = _section(self.cfg, 'test_episode', always=True)
        result = {**percent_result(accuracy), 'episodes': accuracy.episodes,
                  'ways': episode['ways'], 'shots': episode['shots'],
                  'model': tested}
        logger.info('test of the %s: %d-way %d-shot accuracy %s %% (mean '
                    'and 95%% confidence interval over %d episodes)', tested,
                    episode['ways'], episode['shots'], result['result'],
                    accuracy.episodes)
        visualize = _section(self.cfg, 'visualize')
        if visualize is not None:
            self._save_maps(taskset, shots, seed, visualize)
        metrics = {'test': result, 'validation': self.status['validation'],
                   'best': self.status['best']}
        save_json(metrics, os.path.join(self.work_dir, 'metrics.json'))
        return metrics

    @torch.no_grad()
    def _save_maps(self, taskset, shots: int, seed: int,
                   visualize: Dict[str, Any]) -> None:
        self.model.eval()
        with python_random_seed(seed):
            episode = split_episode(taskset.sample(), shots, self.device)
        output = self.model.forward_with_maps(
            episode.support, episode.support_labels, episode.query)
        paths = save_episode_maps(
            os.path.join(self.work_dir, 'maps'), episode, output,
            self.data_cfg['mean'], self.data_cfg['std'],
            int(visualize['max_images']))
        logger.info('saved %d ranked-map images to %s', len(paths),
                    os.path.dirname(paths[0]))

    def run(self) -> Dict[str, Any]:
        """Run the remaining phases; returns the metrics."""
        if self.status['phase'] == 'pretrain':
            self.pretrain()
        if self.status['phase'] == 'train':
            self.train()
        return self.test()


def run(cfg, work_dir: str, resume: Optional[str] = None) -> Dict[str, Any]:
    """Run ``cfg`` in ``work_dir``, logging to ``WORK_DIR/train.log``."""
    os.makedirs(work_dir, exist_ok=True)
    handlers = [logging.StreamHandler(sys.stdout),
                logging.FileHandler(os.path.join(work_dir, 'train.log'),
                                    encoding='utf-8')]
    for handler in handlers:
        handler.setFormatter(logging.Formatter('%(asctime)s %(message)s'))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        return FewShotRunner(cfg, work_dir, resume).run()
    finally:
        for handler in handlers:
            logger.removeHandler(handler)
            handler.close()
