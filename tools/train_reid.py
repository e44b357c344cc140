"""Train or evaluate a re-ID model with torchreid, BR-NPA models included.

The command line of torchreid's scripts/main.py:

    python tools/train_reid.py --config-file configs/reid/CONFIG.yaml \
        --root reid-data [-s market1501] [-t market1501] [KEY VALUE ...]

Trailing KEY VALUE pairs override the config (yacs ``merge_from_list``),
e.g. ``test.evaluate True model.load_weights log/.../model.pth.tar-60``.

Contradictory settings are refused before anything is built
(brnpa_plugins/reid/check.py), dataset folders are checked without any
download, and everything printed also goes to ``data.save_dir/train.log``
(``test.log`` with ``test.evaluate True``).
"""
import argparse
import os.path as osp
import shlex
import sys

from brnpa_plugins.core.noise import quiet_known_noise

quiet_known_noise()  # torchreid warns on import (core/noise.py)
import torchreid

import brnpa_plugins.reid  # noqa: F401  (registers the BR-NPA models)
from brnpa_plugins.core.checks import UnknownKeyError
from brnpa_plugins.reid.build import (build_datamanager, build_engine,
                                      build_model, parallelize)
from brnpa_plugins.reid.check import ConfigError, check_cfg
from brnpa_plugins.reid.checkpoint import load_weights, resume_from_checkpoint
from brnpa_plugins.reid.config import (build_config, engine_run_kwargs,
                                       lr_scheduler_kwargs, optimizer_kwargs)
from brnpa_plugins.reid.data import check_reid_roots
from brnpa_plugins.reid.log import TeeLog


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument('--config-file', type=str, default='',
                        help='path to a yacs config file')
    parser.add_argument('-s', '--sources', type=str, nargs='+',
                        help='source datasets (delimited by space)')
    parser.add_argument('-t', '--targets', type=str, nargs='+',
                        help='target datasets (delimited by space)')
    parser.add_argument('--transforms', type=str, nargs='+',
                        help='data augmentation')
    parser.add_argument('--root', type=str, default='',
                        help='folder holding the datasets')
    parser.add_argument('opts', default=None, nargs=argparse.REMAINDER,
                        help='KEY VALUE pairs that override the config')
    return parser


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.argv = argv
    cfg = build_config(args.config_file, args.opts or (), root=args.root,
                       sources=args.sources, targets=args.targets,
                       transforms=args.transforms)
    check_cfg(cfg)
    # Before any log file or folder is written: no download, nothing left.
    check_reid_roots(cfg.data.root,
                     list(cfg.data.sources) + list(cfg.data.targets),
                     cfg.market1501.use_500k_distractors)
    log_name = 'test.log' if cfg.test.evaluate else 'train.log'
    with TeeLog(osp.join(cfg.data.save_dir, log_name)):
        run(cfg, args)
    return 0


def run(cfg, args) -> None:
    print('Command line: python tools/train_reid.py '
          f'{shlex.join(args.argv)}')
    print(f'Config:\n{cfg}\n')
    torchreid.utils.set_random_seed(cfg.train.seed)
    datamanager = build_datamanager(cfg)
    model = build_model(cfg, datamanager.num_train_pids)
    attention = getattr(model, 'attention', None)
    if attention is not None:
        print(f'BR-NPA grouping: {attention!r}')
        if model.part_logits:
            print(f'Part logits: {model.num_parts} identity classifiers, '
                  f'evaluation feature of size {model.feature_dim}')
    if cfg.model.load_weights:
        load_weights(model, cfg.model.load_weights)
    optimizer = torchreid.optim.build_optimizer(model,
                                                **optimizer_kwargs(cfg))
    scheduler = torchreid.optim.build_lr_scheduler(optimizer,
                                                   **lr_scheduler_kwargs(cfg))
    run_kwargs = engine_run_kwargs(cfg)
    if cfg.model.resume:
        run_kwargs['start_epoch'] = resume_from_checkpoint(
            cfg.model.resume, model, optimizer, scheduler)
    model = parallelize(cfg, model)
    engine = build_engine(cfg, datamanager, model, optimizer, scheduler)
    engine.run(**run_kwargs)


if __name__ == '__main__':
    try:
        sys.exit(main())
    except (UnknownKeyError, ConfigError) as error:  # bad input: no traceback
        sys.exit(f'error: {error}')
