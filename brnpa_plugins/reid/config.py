"""The yacs configuration of the re-ID entry points, in torchreid's key names.

``get_default_config()`` holds every key that ``configs/reid/*.yaml`` and
``tools/train_reid.py`` use; its sections and names follow torchreid's own
``scripts/default_config.py`` (model, data, sampler, train, sgd, adam,
rmsprop, loss, test), so torchreid configs carry over. BR-NPA adds
``model.num_parts / embedding_dim / dropout / part_logits``, the grouping
options ``model.brnpa.*``, ``data_parallel`` and the ``distill`` section.
The ``*_kwargs`` functions turn a config into the keyword arguments of
torchreid's builders and of ``Engine.run``.
"""
from typing import Sequence

from yacs.config import CfgNode as CN

from ..core.checks import check_config_keys


def get_default_config() -> CN:
    """A fresh config tree with the defaults of every key."""
    cfg = CN()
    cfg.use_gpu = True  # also needs CUDA to be available

    cfg.model = CN()
    cfg.model.name = 'brnpa_resnet50'
    cfg.model.pretrained = True  # ImageNet weights of the backbone
    cfg.model.load_weights = ''  # checkpoint to start from / to test
    cfg.model.resume = ''  # checkpoint to resume training from
    cfg.model.num_parts = 3  # BR-NPA models only
    cfg.model.embedding_dim = 512  # BR-NPA models only
    cfg.model.dropout = 0.0  # BR-NPA models only
    # BR-NPA models only: one identity classifier per ranked part (PCB-style
    # training) and the normalised part vectors as evaluation feature.
    cfg.model.part_logits = False
    cfg.model.brnpa = CN()  # the grouping options of brnpa_plugins.core.BRNPA
    cfg.model.brnpa.refine = True  # False: the seeds' own vectors (ablation)
    cfg.model.brnpa.seed = 'max'  # or 'random' (ablation)
    cfg.model.brnpa.activity = 'attended_norm'  # or 'vector_norm'
    cfg.model.brnpa.sort_by_activity = False  # rank parts by activity

    cfg.data = CN()
    cfg.data.type = 'image'
    cfg.data.root = 'reid-data'
    cfg.data.sources = ['market1501']
    cfg.data.targets = ['market1501']
    cfg.data.workers = 4
    cfg.data.split_id = 0
    cfg.data.height = 256
    cfg.data.width = 128
    cfg.data.combineall = False
    cfg.data.transforms = ['random_flip']
    cfg.data.k_tfm = 1
    cfg.data.norm_mean = [0.485, 0.456, 0.406]
    cfg.data.norm_std = [0.229, 0.224, 0.225]
    cfg.data.save_dir = 'log'
    cfg.data.load_train_targets = False

    cfg.market1501 = CN()
    cfg.market1501.use_500k_distractors = False
    cfg.cuhk03 = CN()
    cfg.cuhk03.labeled_images = False
    cfg.cuhk03.classic_split = False
    cfg.cuhk03.use_metric_cuhk03 = False

    cfg.sampler = CN()
    cfg.sampler.train_sampler = 'RandomSampler'
    cfg.sampler.train_sampler_t = 'RandomSampler'
    cfg.sampler.num_instances = 4  # images per identity (triplet batches)
    cfg.sampler.num_cams = 1
    cfg.sampler.num_datasets = 1

    cfg.train = CN()
    cfg.train.optim = 'adam'
    cfg.train.lr = 0.0003
    cfg.train.weight_decay = 5e-4
    cfg.train.max_epoch = 60
    cfg.train.start_epoch = 0
    cfg.train.batch_size = 32
    cfg.train.fixbase_epoch = 0  # epochs training only open_layers
    cfg.train.open_layers = ['classifier']
    cfg.train.staged_lr = False
    cfg.train.new_layers = ['classifier']
    cfg.train.base_lr_mult = 0.1
    cfg.train.lr_scheduler = 'single_step'
    cfg.train.stepsize = [20]
    cfg.train.gamma = 0.1
    cfg.train.print_freq = 20
    cfg.train.seed = 1

    cfg.sgd = CN()
    cfg.sgd.momentum = 0.9
    cfg.sgd.dampening = 0.0
    cfg.sgd.nesterov = False
    cfg.rmsprop = CN()
    cfg.rmsprop.alpha = 0.99
    cfg.adam = CN()
    cfg.adam.beta1 = 0.9
    cfg.adam.beta2 = 0.999

    cfg.loss = CN()
    cfg.loss.name = 'softmax'  # or 'triplet'
    cfg.loss.softmax = CN()
    cfg.loss.softmax.label_smooth = True
    cfg.loss.triplet = CN()
    cfg.loss.triplet.margin = 0.3
    cfg.loss.triplet.weight_t = 1.0
    cfg.loss.triplet.weight_x = 0.0

    cfg.distill = CN()
    cfg.distill.teacher_name = ''  # e.g. brnpa_resnet50 (low resolution)
    cfg.distill.teacher_weights = ''  # set to train with distillation
    cfg.distill.temperature = 1.0
    cfg.distill.alpha = 1.0

    cfg.test = CN()
    cfg.test.batch_size = 100
    cfg.test.dist_metric = 'euclidean'  # or 'cosine'
    cfg.test.normalize_feature = False
    cfg.test.ranks = [1, 5, 10, 20]
    cfg.test.evaluate = False  # test only
    cfg.test.eval_freq = -1  # also evaluate every N epochs
    cfg.test.start_eval = 0
    cfg.test.rerank = False
    cfg.test.visrank = False
    cfg.test.visrank_topk = 10

    # nn.DataParallel: 'auto' wraps the model when use_gpu finds several
    # CUDA devices (as torchreid's main.py), 'always' also on one device or
    # the CPU, 'never' keeps one device.
    cfg.data_parallel = 'auto'
    return cfg


def build_config(config_file: str = '', opts: Sequence[str] = (),
                 **data) -> CN:
    """The frozen config of a command line, as torchreid's main.py builds it.

    Args:
        config_file: a YAML file merged over the defaults.
        opts: KEY VALUE pairs merged last (``merge_from_list``).
        **data: ``data.*`` keys set from command-line flags (``root``,
            ``sources``...); empty values are ignored.

    Raises:
        UnknownKeyError: (a KeyError) for a key that
            :func:`get_default_config` lacks, naming it, where it was
            written, the closest known key and the known keys there.
    """
    cfg = get_default_config()
    if config_file:
        with open(config_file) as stream:
            loaded = cfg.load_cfg(stream)
        check_config_keys(loaded, cfg, f'config file {config_file}')
        cfg.merge_from_other_cfg(loaded)
    for key, value in data.items():
        if value:
            setattr(cfg.data, key, value)
    if len(opts) % 2:
        raise ValueError('config overrides come in KEY VALUE pairs, got '
                         f'{list(opts)}')
    check_config_keys(_key_tree(opts[0::2]), cfg, 'command-line overrides')
    cfg.merge_from_list(list(opts))
    cfg.freeze()
    return cfg


def _key_tree(keys: Sequence[str]) -> dict:
    """Dotted keys as sections: ``['a.b']`` -> ``{'a': {'b': None}}``."""
    tree = {}
    for key in keys:
        *sections, name = str(key).split('.')
        node = tree
        for section in sections:
            if not isinstance(node.get(section), dict):
                node[section] = {}
            node = node[section]
        node[name] = None
    return tree


#: Keyword argument -> config key, for each builder torchreid offers.
IMAGEDATA_KEYS = dict(
    root='data.root', sources='data.sources', targets='data.targets',
    height='data.height', width='data.width', transforms='data.transforms',
    k_tfm='data.k_tfm', norm_mean='data.norm_mean', norm_std='data.norm_std',
    use_gpu='use_gpu', split_id='data.split_id',
    combineall='data.combineall',
    load_train_targets='data.load_train_targets',
    batch_size_train='train.batch_size', batch_size_test='test.batch_size',
    workers='data.workers', num_instances='sampler.num_instances',
    num_cams='sampler.num_cams', num_datasets='sampler.num_datasets',
    train_sampler='sampler.train_sampler',
    train_sampler_t='sampler.train_sampler_t',
    cuhk03_labeled='cuhk03.labeled_images',
    cuhk03_classic_split='cuhk03.classic_split',
    market1501_500k='market1501.use_500k_distractors')
OPTIMIZER_KEYS = dict(
    optim='train.optim', lr='train.lr', weight_decay='train.weight_decay',
    momentum='sgd.momentum', sgd_dampening='sgd.dampening',
    sgd_nesterov='sgd.nesterov', rmsprop_alpha='rmsprop.alpha',
    adam_beta1='adam.beta1', adam_beta2='adam.beta2',
    staged_lr='train.staged_lr', new_layers='train.new_layers',
    base_lr_mult='train.base_lr_mult')
LR_SCHEDULER_KEYS = dict(
    lr_scheduler='train.lr_scheduler', stepsize='train.stepsize',
    gamma='train.gamma', max_epoch='train.max_epoch')
ENGINE_RUN_KEYS = dict(
    save_dir='data.save_dir', max_epoch='train.max_epoch',
    start_epoch='train.start_epoch', fixbase_epoch='train.fixbase_epoch',
    open_layers='train.open_layers', start_eval='test.start_eval',
    eval_freq='test.eval_freq', test_only='test.evaluate',
    print_freq='train.print_freq', dist_metric='test.dist_metric',
    normalize_feature='test.normalize_feature', visrank='test.visrank',
    visrank_topk='test.visrank_topk',
    use_metric_cuhk03='cuhk03.use_metric_cuhk03', ranks='test.ranks',
    rerank='test.rerank')


def _pick(cfg: CN, keys: dict) -> dict:
    """Keyword arguments read from the config; lists are copied so that
    callees cannot change the (frozen) config."""
    picked = {}
    for argument, path in keys.items():
        value = cfg
        for part in path.split('.'):
            value = value[part]
        picked[argument] = list(value) if isinstance(value, list) else value
    return picked


def imagedata_kwargs(cfg: CN) -> dict:
    """Arguments of ``torchreid.data.ImageDataManager``."""
    if cfg.data.type != 'image':
        raise ValueError(f"data.type must be 'image', got {cfg.data.type!r}: "
                         'the BR-NPA entry points train image re-ID models.')
    return _pick(cfg, IMAGEDATA_KEYS)


def optimizer_kwargs(cfg: CN) -> dict:
    """Arguments of ``torchreid.optim.build_optimizer`` (after the model)."""
    return _pick(cfg, OPTIMIZER_KEYS)


def lr_scheduler_kwargs(cfg: CN) -> dict:
    """Arguments of ``torchreid.optim.build_lr_scheduler``."""
    return _pick(cfg, LR_SCHEDULER_KEYS)


def engine_run_kwargs(cfg: CN) -> dict:
    """Arguments of ``Engine.run``."""
    return _pick(cfg, ENGINE_RUN_KEYS)
