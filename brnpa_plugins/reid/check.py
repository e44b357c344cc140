"""Refuse contradictory re-ID configs before anything is built.

:func:`check_cfg` plays the role of mmpretrain's config checks for the yacs
configs of ``tools/train_reid.py``: combinations that torchreid accepts but
that crash later (``element 0 of tensors does not require grad`` during the
fixbase epochs), silently do nothing useful (evaluating an untrained model),
or fail deep inside a sampler are refused at once. Every problem is listed
with the keys, their values and a fix.
"""
from typing import List

from yacs.config import CfgNode

from brnpa_plugins.core.grouping import ACTIVITY_MODES, SEED_MODES

from .models import BACKBONES, LOSSES

#: The top-level modules of a BR-NPA re-ID model (``train.open_layers``).
BRNPA_LAYERS = ('backbone', 'attention', 'bottleneck', 'dropout',
                'classifier')
#: Layers with parameters on the path of each output of a BR-NPA model.
#: The identity logits depend on every one; the triplet feature is the
#: bottleneck embedding, or the part vectors themselves with part_logits.
EMBEDDING_PATH = ('backbone', 'bottleneck')
PART_VECTOR_PATH = ('backbone', )
LOGIT_PATH = ('backbone', 'bottleneck', 'classifier')
DATA_PARALLEL_MODES = ('auto', 'always', 'never')
SAMPLERS = ('RandomSampler', 'SequentialSampler', 'RandomIdentitySampler',
            'RandomDomainSampler', 'RandomDatasetSampler')


class ConfigError(ValueError):
    """A re-ID config whose keys contradict each other."""


def config_problems(cfg: CfgNode) -> List[str]:
    """Every contradiction of ``cfg``, one sentence (keys, values, fix) each.
    """
    problems = []
    brnpa = cfg.model.name in BACKBONES
    loss = cfg.loss.name
    triplet = loss == 'triplet'
    distill = bool(cfg.distill.teacher_weights)

    if loss not in LOSSES:
        problems.append(f'loss.name={loss!r}: loss must be one of {LOSSES}; '
                        "use 'triplet' for torchreid's triplet engine, else "
                        "'softmax'.")
    if cfg.data_parallel not in DATA_PARALLEL_MODES:
        problems.append(f'data_parallel={cfg.data_parallel!r}: choose one of '
                        f'{DATA_PARALLEL_MODES}.')
    for key, value, choices in (('seed', cfg.model.brnpa.seed, SEED_MODES),
                                ('activity', cfg.model.brnpa.activity,
                                 ACTIVITY_MODES)):
        if value not in choices:
            problems.append(f'model.brnpa.{key}={value!r}: choose one of '
                            f'{choices}.')
    if not brnpa:
        for key in ('part_logits', ):
            if cfg.model[key]:
                problems.append(
                    f'model.{key}=True needs a BR-NPA model, but '
                    f'model.name={cfg.model.name!r}; choose one of '
                    f'{sorted(BACKBONES)} or set model.{key} False.')

    # Training paths: which losses reach a trainable layer.
    if triplet:
        weight_t = cfg.loss.triplet.weight_t
        weight_x = cfg.loss.triplet.weight_x
        if weight_t < 0 or weight_x < 0 or weight_t + weight_x <= 0:
            problems.append(
                f'loss.triplet.weight_t={weight_t} and loss.triplet.weight_x='
                f'{weight_x}: the weights must be >= 0 and not both 0 (no '
                'loss to train); e.g. weight_t 1.0 weight_x 1.0.')
    if cfg.train.fixbase_epoch > 0 and not cfg.test.evaluate:
        problems += _fixbase_problems(cfg, brnpa, triplet)

    # Samplers and losses.
    sampler = cfg.sampler.train_sampler
    if sampler not in SAMPLERS:
        problems.append(f'sampler.train_sampler={sampler!r}: torchreid knows '
                        f'{SAMPLERS}.')
    if triplet and cfg.loss.triplet.weight_t > 0 and \
            sampler != 'RandomIdentitySampler':
        problems.append(
            f'loss.name=triplet with sampler.train_sampler={sampler!r}: '
            'random batches hold few or no pairs of the same identity, so '
            'the triplet loss has no positives; set sampler.train_sampler '
            'RandomIdentitySampler (or loss.triplet.weight_t 0).')
    if sampler == 'RandomIdentitySampler':
        batch, instances = cfg.train.batch_size, cfg.sampler.num_instances
        if instances < 2 or batch < instances or batch % instances:
            problems.append(
                f'sampler.train_sampler=RandomIdentitySampler with '
                f'train.batch_size={batch} and sampler.num_instances='
                f'{instances}: a batch is batch_size / num_instances '
                'identities of num_instances images each; use '
                'num_instances >= 2 and a batch_size that is a multiple of '
                'it (e.g. train.batch_size 32 sampler.num_instances 4).')

    # Distillation.
    if distill:
        if not cfg.distill.teacher_name:
            problems.append(
                'distill.teacher_weights is set but distill.teacher_name is '
                "empty: name the teacher's model, e.g. distill.teacher_name "
                'brnpa_resnet50.')
        if cfg.model.part_logits:
            problems.append(
                'distill.teacher_weights is set with model.part_logits=True: '
                'the distillation loss reads one logit vector per image and '
                'the teacher is built with the model.* options of the '
                'student; set model.part_logits False or clear '
                'distill.teacher_weights.')
        if triplet:
            problems.append(
                'distill.teacher_weights is set with loss.name=triplet: the '
                'distillation engine trains on logits only; set loss.name '
                'softmax or clear distill.teacher_weights.')

    # Evaluation.
    if cfg.test.evaluate and not (cfg.model.load_weights or cfg.model.resume):
        problems.append(
            'test.evaluate=True without model.load_weights (nor model.resume)'
            ': this would rank the gallery with an untrained model; add '
            'model.load_weights PATH (a checkpoint of train_reid.py).')
    if cfg.cuhk03.use_metric_cuhk03 and 'cuhk03' not in cfg.data.targets:
        problems.append(
            'cuhk03.use_metric_cuhk03=True but data.targets='
            f'{list(cfg.data.targets)} has no cuhk03: the single-gallery-shot '
            'metric is the CUHK03 protocol; add -t cuhk03 or set '
            'cuhk03.use_metric_cuhk03 False.')
    if cfg.train.max_epoch <= cfg.train.start_epoch and not cfg.test.evaluate:
        problems.append(
            f'train.max_epoch={cfg.train.max_epoch} <= train.start_epoch='
            f'{cfg.train.start_epoch}: nothing to train; raise '
            'train.max_epoch or set test.evaluate True.')
    return problems


def _fixbase_problems(cfg: CfgNode, brnpa: bool, triplet: bool) -> List[str]:
    fixbase, layers = cfg.train.fixbase_epoch, list(cfg.train.open_layers)
    if not layers:
        return [f'train.fixbase_epoch={fixbase} with train.open_layers=[]: '
                'no layer would train in those epochs; name layers, e.g. '
                "train.open_layers ['bottleneck', 'classifier'], or set "
                'train.fixbase_epoch 0.']
    if not brnpa:
        return []  # other torchreid models: torchreid checks the names
    unknown = [layer for layer in layers if layer not in BRNPA_LAYERS]
    if unknown:
        return [f'train.open_layers={layers}: {unknown} are not modules of '
                f'the BR-NPA model {cfg.model.name!r} (it has '
                f'{list(BRNPA_LAYERS)}); fix the names or set '
                'train.fixbase_epoch 0.']
    feature_path = PART_VECTOR_PATH if cfg.model.part_logits \
        else EMBEDDING_PATH
    paths = []
    if not triplet or cfg.loss.triplet.weight_x > 0 or \
            cfg.distill.teacher_weights:
        paths.append(LOGIT_PATH)
    if triplet and cfg.loss.triplet.weight_t > 0:
        paths.append(feature_path)
    if any(set(path) & set(layers) for path in paths):
        return []
    what = ('loss.triplet.weight_x=0, so only the triplet loss on the '
            f'{"part vectors" if cfg.model.part_logits else "embedding"} '
            f'trains (it depends on {list(feature_path)})') if triplet else \
        'the losses depend on ' + str(list(LOGIT_PATH))
    fix = ("add 'bottleneck' to train.open_layers, " if not
           cfg.model.part_logits else '') + 'set loss.triplet.weight_x > 0' \
        if triplet else "add 'classifier' to train.open_layers"
    return [f'train.fixbase_epoch={fixbase} with train.open_layers={layers}:'
            f' {what}; no trainable layer gets a gradient in those epochs '
            '(torchreid fails with "element 0 of tensors does not require '
            f'grad"); {fix}, or set train.fixbase_epoch 0.']


def check_cfg(cfg: CfgNode) -> None:
    """Raise :class:`ConfigError` listing every contradiction of ``cfg``."""
    problems = config_problems(cfg)
    if problems:
        raise ConfigError(f'{len(problems)} contradiction(s) in the re-ID '
                          'config:\n' + '\n'.join(f'- {p}' for p in problems))
