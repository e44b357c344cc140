"""Train or evaluate a re-ID model with torchreid, BR-NPA models included.

The command line of torchreid's scripts/main.py:

    python tools/train_reid.py --config-file configs/reid/CONFIG.yaml \
        --root reid-data [-s market1501] [-t market1501] [KEY VALUE ...]

Trailing KEY VALUE pairs override the config (yacs ``merge_from_list``),
e.g. ``test.evaluate True model.load_weights log/.../model.pth.tar-60``.
"""
import argparse
import sys

import torchreid

import brnpa_plugins.reid  # noqa: F401  (registers the BR-NPA models)
from brnpa_plugins.reid.build import (build_datamanager, build_engine,
                                      build_model)
from brnpa_plugins.reid.checkpoint import load_weights, resume_from_checkpoint
from brnpa_plugins.reid.config import (build_config, engine_run_kwargs,
                                       lr_scheduler_kwargs, optimizer_kwargs)


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
    args = build_parser().parse_args(argv)
    cfg = build_config(args.config_file, args.opts or (), root=args.root,
                       sources=args.sources, targets=args.targets,
                       transforms=args.transforms)
    print(f'Config:\n{cfg}\n')
    torchreid.utils.set_random_seed(cfg.train.seed)
    datamanager = build_datamanager(cfg)
    model = build_model(cfg, datamanager.num_train_pids)
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
    engine = build_engine(cfg, datamanager, model, optimizer, scheduler)
    engine.run(**run_kwargs)
    return 0


if __name__ == '__main__':
    sys.exit(main())
