"""Train and test a BR-NPA few-shot learner from a config.

    python tools/train_fewshot.py CONFIG [--work-dir DIR] [--resume [CKPT]]
        [--cfg-options KEY=VALUE ...]

Phases (each optional): pre-training on the base classes, episodic training
with validation, then the test over the configured number of episodes. The
work directory receives the config, ``latest.pth``, ``best.pth``,
``metrics.json``, ``train.log`` and the ranked maps of one test episode.
"""
import argparse
import os
import sys
from typing import Any, Dict, Optional, Sequence

from mmengine.config import Config, DictAction

from brnpa_plugins.fewshot import check_config, run
from brnpa_plugins.core import atomic_write_text
from brnpa_plugins.core.checks import UnknownKeyError


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Train and test a BR-NPA few-shot learner')
    parser.add_argument('config', help='config file (configs/fewshot/*.py)')
    parser.add_argument(
        '--work-dir',
        help='where checkpoints, logs and metrics go; defaults to '
        'work_dirs/<config name>')
    parser.add_argument(
        '--resume',
        nargs='?',
        const='auto',
        default=None,
        help='resume from this checkpoint, or, without a value, from '
        'WORK_DIR/latest.pth when it exists')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config values, e.g. train.episodes=100 '
        'model.widths="(8,16,32,64)"')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    check_config(cfg)  # before anything is written
    name = os.path.splitext(os.path.basename(args.config))[0]
    work_dir = args.work_dir or cfg.get('work_dir') or os.path.join(
        'work_dirs', name)
    cfg.work_dir = work_dir
    atomic_write_text(os.path.join(work_dir, f'{name}.py'), cfg.pretty_text)
    return run(cfg, work_dir, args.resume)


if __name__ == '__main__':
    try:
        main()
    except UnknownKeyError as error:  # a misspelt key: no traceback needed
        sys.exit(f'error: {error}')
