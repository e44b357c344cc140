"""Check the keys of ``--cfg-options KEY=VALUE`` against what mmengine reads.

mmengine merges any key it is given into the config: a misspelt key is then
either silently ignored (``trian_cfg.max_epochs=2`` trains with the
config's schedule) or fails later with a bare ``TypeError``
(``train_cfg.max_epochs_typo=3``). :func:`check_cfg_options` accepts every
key mmengine and mmpretrain read and refuses the others before anything
runs, naming the key, its value and the closest known key:

- a key of the config, at any depth;
- an argument of the Runner (``model_wrapper_cfg``, ``sync_bn``,
  ``compile``...), of a loop (``train_cfg.*``), of a data loader, of the
  optimizer wrapper and its constructor (``optim_wrapper.clip_grad``,
  ``optim_wrapper.paramwise_cfg`` and the keys its constructors read,
  ``optim_wrapper.accumulative_counts``),
  and of every registered type a ``type`` names (looked up in the
  registries of the config's ``default_scope``; an ``__init__`` taking
  ``**kwargs`` adds the arguments of its base classes, or those the
  ``**kwargs`` are known to reach, :data:`KWARGS_READ`); below a new
  argument (``optim_wrapper.clip_grad.max_norm``) anything goes, as nothing
  tells what that argument reads;
- a config variable (``data_root``, ``train_pipeline``): mmengine reads it
  only while the config file is parsed, so an override would change
  nothing. Its value was copied where the config uses it; the override is
  applied to every copy too (:func:`variable_copies`).

``BRNPA_SKIP_KEY_CHECK=1`` turns the check off (the keys then go to
mmengine unchecked).
"""
import importlib
import inspect
import os
from typing import Any, List, Optional, Sequence, Tuple

from ..core.checks import (UnknownKeyError, check_known_names, close_names,
                           keyword_names)

#: Set to 1 to pass --cfg-options to mmengine unchecked.
SKIP_ENV = 'BRNPA_SKIP_KEY_CHECK'

#: Top-level keys mmengine's Runner reads besides its constructor's
#: arguments, and those mmpretrain's tools read.
RUNNER_READS = ('model_wrapper_cfg', 'sync_bn', 'find_unused_parameters',
                'activation_checkpointing', 'efficient_conv_bn_eval',
                'compile', 'custom_imports', 'tta_model', 'tta_pipeline')

#: Arguments the Runner passes itself: never set in a config.
GIVEN_BY_RUNNER = ('self', 'runner', 'dataloader', 'evaluator', 'optimizer',
                   'params', 'module', 'model', 'cfg')

#: Sections without a ``type``: the class (mmengine or torch) built from
#: them, and the keys the Runner takes out before building it.
SECTIONS = {
    'train_cfg': ('mmengine.runner.EpochBasedTrainLoop', ('by_epoch',)),
    'val_cfg': ('mmengine.runner.ValLoop', ()),
    'test_cfg': ('mmengine.runner.TestLoop', ()),
    'optim_wrapper': ('mmengine.optim.OptimWrapper',
                      ('constructor', 'paramwise_cfg')),
    'model_wrapper_cfg': ('mmengine.model.MMDistributedDataParallel', ()),
    'log_processor': ('mmengine.runner.LogProcessor', ()),
    'visualizer': ('mmengine.visualization.Visualizer', ()),
    'randomness': ('mmengine.runner.set_random_seed', ()),
    'auto_scale_lr': (None, ('enable', 'base_batch_size')),
    'env_cfg': (None, ('cudnn_benchmark', 'mp_cfg', 'dist_cfg',
                       'resource_limit')),
    'env_cfg.mp_cfg': (None, ('mp_start_method', 'opencv_num_threads')),
    'default_hooks': (None, ('runtime_info', 'timer', 'sampler_seed',
                             'logger', 'param_scheduler', 'checkpoint')),
    # what mmengine's DefaultOptimWrapperConstructor and mmpretrain's
    # LearningRateDecayOptimWrapperConstructor read (custom_keys: any
    # parameter name below it)
    'optim_wrapper.paramwise_cfg': (None, (
        'custom_keys', 'bias_lr_mult', 'bias_decay_mult', 'norm_decay_mult',
        'dwconv_decay_mult', 'flat_decay_mult', 'bypass_duplicate',
        'dcn_offset_lr_mult', 'layer_decay_rate')),
}
_LOADER = ('torch.utils.data.DataLoader',
           ('dataset', 'sampler', 'batch_sampler', 'num_batch_per_epoch',
            'worker_init_fn', 'collate_fn', 'persistent_workers'))
for _split in ('train', 'val', 'test'):
    SECTIONS[f'{_split}_dataloader'] = _LOADER

#: Classes whose ``**kwargs`` go where the signature cannot show, and the
#: keys read there: CheckpointHook hands them to Runner.save_checkpoint,
#: every argument of which it already passes itself, so any other key
#: would fail at the first save, after an epoch of training.
KWARGS_READ = {'mmengine.hooks.CheckpointHook': ()}

#: Keys the Runner's builders take out of a typed section, by base class.
EXTRA_ARGUMENTS = {
    'mmengine.hooks.Hook': ('priority',),
    'mmengine.optim.scheduler.param_scheduler._ParamScheduler':
        ('convert_to_iter_based',),
    'mmengine.optim.BaseOptimWrapper': ('constructor', 'paramwise_cfg'),
}

#: Marks a section whose keys cannot be told: every key is accepted.
OPEN = None


def cfg_option_items(argv: Sequence[str]) -> List[Tuple[str, str]]:
    """The ``(KEY, VALUE)`` pairs of ``--cfg-options KEY=VALUE ...``."""
    items, inside = [], False
    for item in argv:
        if item.startswith('--'):
            inside = item == '--cfg-options'
        elif inside:
            key, _, value = item.partition('=')
            items.append((key, value))
    return items


def _import(path: str):
    module, _, name = path.rpartition('.')
    return getattr(importlib.import_module(module), name)


def _registered(type_name: Any, scope: str) -> list:
    """The classes or functions ``type_name`` names in the registries of
    ``scope`` (every registry: a type name rarely means two things)."""
    if not isinstance(type_name, str):
        return [type_name] if callable(type_name) else []
    from mmengine.registry import DefaultScope, Registry
    try:
        module = importlib.import_module(f'{scope}.registry')
    except ImportError:
        module = importlib.import_module('mmengine.registry')
    found = []
    with DefaultScope.overwrite_default_scope(scope):
        for registry in vars(module).values():
            if not isinstance(registry, Registry):
                continue
            try:
                target = registry.get(type_name)
            except Exception:  # a registry that cannot import its location
                target = None
            if target is not None and target not in found:
                found.append(target)
    return found


def _forwarded() -> dict:
    """:data:`KWARGS_READ` with its classes imported (those found)."""
    classes = {}
    for path, read in KWARGS_READ.items():
        try:
            classes[_import(path)] = read
        except (ImportError, AttributeError):
            continue
    return classes


def _arguments(target) -> Optional[List[str]]:
    """What ``target``'s config section may hold, or :data:`OPEN`."""
    names = keyword_names(target, _forwarded())
    if names is None:
        return OPEN
    names = [name for name in names if name not in GIVEN_BY_RUNNER]
    if inspect.isclass(target):
        for base, extra in EXTRA_ARGUMENTS.items():
            try:
                if issubclass(target, _import(base)):
                    names += extra
            except (ImportError, AttributeError):
                continue
    return names


def known_keys(node: dict, path: str, scope: str) -> Optional[List[str]]:
    """The keys a config section ``node`` at ``path`` (``'train_cfg'``,
    ``'model.head'``) may hold: its own, ``type``, and the arguments of the
    class built from it; :data:`OPEN` where they cannot be told."""
    names = list(node) + ['type', '_delete_']
    default, extra = SECTIONS.get(path, (OPEN, ()))
    names += extra
    if 'type' in node:
        targets = _registered(node['type'], scope)
    elif path == 'train_cfg' and not node.get('by_epoch', True):
        targets = [_import('mmengine.runner.IterBasedTrainLoop')]
    elif default is not None:
        targets = [_import(default)]
    elif extra:
        return names
    else:
        return OPEN
    if not targets:
        return OPEN  # a type this process cannot find: the build will say
    for target in targets:
        arguments = _arguments(target)
        if arguments is OPEN:
            return OPEN
        names += arguments
    return list(dict.fromkeys(names))


def _runner_keys() -> List[str]:
    from mmengine.runner import Runner
    return [name for name in inspect.signature(Runner.__init__).parameters
            if name not in ('self', 'cfg')] + list(RUNNER_READS)


def _walk(root: dict, key: str, value: str, scope: str, known_root) -> None:
    """Raise :class:`UnknownKeyError` unless mmengine reads ``key``."""
    parts = key.split('.')
    subject = f'--cfg-options {key}={value}'
    node: Any = root
    for depth, part in enumerate(parts):
        where = '.'.join(parts[:depth])
        prefix = where + '.' if where else ''
        if isinstance(node, (list, tuple)):
            if part.isdigit() and int(part) < len(node):
                node = node[int(part)]
                continue
            raise UnknownKeyError(
                f'{subject}: {where} is a list of {len(node)} items, so '
                f'{part!r} is not one of its indices (0 to {len(node) - 1}); '
                f'set {where}=[...] as a whole to change its length.')
        if not isinstance(node, dict):
            raise UnknownKeyError(
                f'{subject}: {where} is {node!r}, not a section with keys; '
                f'set it as a whole ({where}=...) or edit the config.')
        if part in node:
            node = node[part]
            continue
        known = known_root if depth == 0 else known_keys(node, where, scope)
        if known is OPEN:
            return
        try:
            check_known_names([part], list(dict.fromkeys(known)), subject,
                              prefix=prefix)
        except UnknownKeyError as error:
            raise UnknownKeyError(
                f'{error}. mmengine would ignore this key or fail on it: '
                f'correct it, or set {SKIP_ENV}=1 to pass it unchecked.'
            ) from None
        if prefix + part not in SECTIONS:
            return  # a new argument: what lies below it is its own business
        node = {}  # a section the config leaves out: its defaults are known


def _paths(node: Any, path: str = ''):
    """Every (dotted path, value) below ``node`` (dicts and lists)."""
    items = node.items() if isinstance(node, dict) else enumerate(node) \
        if isinstance(node, (list, tuple)) else ()
    for name, value in items:
        child = f'{path}.{name}' if path else str(name)
        yield child, value
        yield from _paths(value, child)


_MISSING = object()


def _value(tree: Any, parts: Sequence[str]) -> Any:
    for part in parts:
        if isinstance(tree, dict) and part in tree:
            tree = tree[part]
        elif isinstance(tree, (list, tuple)) and part.isdigit() and \
                int(part) < len(tree):
            tree = tree[int(part)]
        else:
            return _MISSING
    return tree


def _copied(value: Any) -> bool:
    """Whether equal values elsewhere are copies, not chance: strings and
    containers (not numbers, flags or empty ones)."""
    return isinstance(value, (str, list, tuple, dict)) and len(value) > 0


def variable_copies(tree: dict, key: str) -> List[str]:
    """Where an override ``key`` of a config variable must go too.

    A config file's variable (``data_root = 'data/x'``) is copied into the
    sections that use it (``dataset=dict(data_root=data_root)``, or merged
    with ``dict(**data)``). The copies are the paths, outside the
    variable, whose value equals the overridden value or the nearest part
    of the variable above it that holds a string or a container; the rest
    of ``key`` is appended to them.
    """
    parts = key.split('.')
    outside = {k: v for k, v in tree.items() if k != parts[0]}
    for depth in range(len(parts), 0, -1):
        value = _value(tree, parts[:depth])
        if value is _MISSING or not _copied(value):
            continue
        copies = [path for path, held in _paths(outside) if held == value]
        if copies:
            return ['.'.join([path] + parts[depth:]) for path in copies]
    return []


def check_cfg_options(config, items: Sequence[Tuple[str, str]],
                      amp: bool = False) -> List[Tuple[str, str]]:
    """Refuse the ``(KEY, VALUE)`` overrides that mmengine would not read.

    Args:
        config: The config file (its ``custom_imports`` are imported) or a
            loaded :class:`mmengine.config.Config`.
        items: The overrides, e.g. from :func:`cfg_option_items`.
        amp (bool): The tool's ``--amp`` is on: the optimizer wrapper is an
            ``AmpOptimWrapper`` (``optim_wrapper.dtype`` is known).

    Returns:
        The overrides to add for the config variables overridden: the same
        value under each path that holds a copy of the variable (not those
        the items set themselves).

    Raises:
        UnknownKeyError: naming the override, its value, the closest known
            key and the fix.
    """
    if not items:
        return []
    from mmengine.config import Config
    cfg = Config.fromfile(config) if isinstance(config, str) else config
    tree = cfg.to_dict()
    for module in tree.get('custom_imports', {}).get('imports', []):
        try:
            importlib.import_module(module)
        except ImportError:
            pass  # the tool stops on it with mmengine's own message
    if amp:
        tree.setdefault('optim_wrapper', {})['type'] = 'AmpOptimWrapper'
    scope = tree.get('default_scope') or 'mmengine'
    runner_keys = _runner_keys()
    known_root = list(tree) + runner_keys
    for key, value in items:  # a type given with the keys: check against it
        *sections, last = key.split('.')
        if last != 'type' or not sections:
            continue
        _walk(tree, key, value, scope, known_root)
        node = tree
        for part in sections:
            node = node.setdefault(part, {}) if isinstance(node, dict) \
                else None
        if isinstance(node, dict):
            node['type'] = value
    given = {key for key, _ in items}
    added: List[Tuple[str, str]] = []
    for key, value in items:
        _walk(tree, key, value, scope, known_root)
        name = key.split('.')[0]
        if name not in tree or name in runner_keys:
            continue
        copies = variable_copies(tree, key)
        if not copies:
            value_there = _value(tree, key.split('.'))
            same = [path for path, held in _paths(
                {k: v for k, v in tree.items() if k != name})
                if type(held) is type(value_there) and held == value_there]
            parent = _value(tree, key.split('.')[:-1])
            close = close_names(key.split('.')[-1], parent) \
                if value_there is _MISSING and isinstance(parent, dict) \
                else []
            raise UnknownKeyError(
                f'--cfg-options {key}={value}: '
                + (f"unknown key {key!r} (did you mean "
                   f"{key.rpartition('.')[0] + '.' + close[0]!r}?); "
                   if close else '')
                + f'{name} is a variable of the '
                'config, read only while the config file is parsed, and no '
                'key holds a copy of it (numbers and flags are not traced); '
                'override the keys that use it instead'
                + (f' (these hold the same value: {", ".join(same)})'
                   if same else '')
                + f', or set {SKIP_ENV}=1 to pass it unchecked.')
        added += [(copy, value) for copy in copies if copy not in given]
    return added


def checked_arguments(argv: Sequence[str], config: Optional[str],
                      amp: bool = False) -> List[str]:
    """A tool's ``argv`` after :func:`check_cfg_options`, with the copies
    of overridden config variables added to its ``--cfg-options`` (before
    the user's own keys, which win). Unchanged with ``BRNPA_SKIP_KEY_CHECK``
    set to 1 or without a config file."""
    argv = list(argv)
    if os.environ.get(SKIP_ENV, '') not in ('', '0') or config is None or \
            not os.path.isfile(config):
        return argv
    added = check_cfg_options(config, cfg_option_items(argv), amp=amp)
    if added:
        at = argv.index('--cfg-options') + 1
        argv[at:at] = [f'{key}={value}' for key, value in added]
    return argv

