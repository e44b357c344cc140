"""Train, then test, a BR-NPA few-shot config with mmengine's Runner.

    python tools/train_fewshot.py CONFIG [--work-dir DIR] [--resume [CKPT]]
        [--amp] [--cfg-options KEY=VALUE ...]
        [--launcher {none,pytorch,slurm,mpi}]
    torchrun --nproc_per_node 2 tools/train_fewshot.py CONFIG --launcher pytorch

The arguments are those of mmpretrain's ``tools/train.py``. After training,
the best validation checkpoint (``best_fewshot_accuracy_*.pth``; the model
just trained when there was no validation, as in the pre-training configs)
is tested on the test episodes, and ``work_dir/metrics.json`` receives the
result (``BRNPAFewShotMetricsHook`` of the configs).
"""
import argparse
import os
import sys
import uuid
from typing import Any, Dict, List, Optional, Sequence

from mmengine.config import Config, DictAction


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """The command line (``argv``, default ``sys.argv[1:]``)."""
    parser = argparse.ArgumentParser(
        description='Train and test a BR-NPA few-shot learner with '
        "mmengine's Runner")
    parser.add_argument('config', help='config file (configs/fewshot/*.py)')
    parser.add_argument(
        '--work-dir',
        help='where checkpoints, logs and metrics.json go; defaults to '
        'the config\'s work_dir, else work_dirs/<config name>')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from this checkpoint or, without a value, from the '
        'last checkpoint of the work directory')
    parser.add_argument(
        '--amp', action='store_true',
        help='automatic mixed precision (AmpOptimWrapper)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config values, e.g. train_cfg.max_iters=100 '
        '"model.learner.widths=(8,16,32,64)"')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    # Passed by torch.distributed.launch (torchrun sets LOCAL_RANK instead).
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def build_config(args: argparse.Namespace) -> Config:
    """The config of ``args.config`` with the command line merged in."""
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    cfg.launcher = args.launcher
    name = os.path.splitext(os.path.basename(args.config))[0]
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = os.path.join('work_dirs', name)
    # One message hub, logger and visualiser per run, also when main() runs
    # several times in one process (mmengine keys them by this name).
    if cfg.get('experiment_name') is None:
        cfg.experiment_name = f'{name}_{uuid.uuid4().hex[:8]}'
    if args.amp:
        # mmpretrain's registry: with brnpa_plugins.openmmlab's ``cpu_amp``
        # patch it holds the wrapper that also autocasts on a CPU (these
        # configs' default scope is mmengine's).
        cfg.optim_wrapper.type = 'mmpretrain.AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    return cfg


def best_checkpoint(runner) -> Optional[str]:
    """The best validation checkpoint the runner's CheckpointHook kept (the
    message hub holds it across a resume), or None."""
    path = runner.message_hub.get_info('best_ckpt')
    for hook in runner.hooks:
        path = getattr(hook, 'best_ckpt_path', None) or path
    return path if path and os.path.isfile(path) else None


def train_and_test(cfg: Config):
    """Train, load the best checkpoint (if any) and test.

    The configs' ``custom_imports`` import ``brnpa_plugins.openmmlab``
    (safe and atomic checkpoints) and the few-shot modules.

    Returns:
        ``(runner, metrics)``: the runner and the test metrics.
    """
    from mmengine.runner import Runner

    from brnpa_plugins.fewshot.engine import TESTED_CHECKPOINT
    runner = Runner.from_cfg(cfg)
    runner.train()
    tested = best_checkpoint(runner)
    if tested is not None:
        runner.load_checkpoint(tested)
    runner.message_hub.update_info(TESTED_CHECKPOINT, tested)
    runner.logger.info('testing ' + (tested or 'the model after the last '
                                     'training iteration (no best '
                                     'validation checkpoint)'))
    return runner, runner.test()


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    """Run the tool; returns the test metrics."""
    from brnpa_plugins.openmmlab.cfg_options import checked_arguments
    from brnpa_plugins.openmmlab.compat import apply_tool_patches
    apply_tool_patches('train_fewshot')
    arguments: List[str] = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(arguments)
    # Before anything is written: a misspelt key names the closest one.
    args = parse_args(checked_arguments(arguments, args.config,
                                        amp=args.amp))
    return train_and_test(build_config(args))[1]


if __name__ == '__main__':
    from brnpa_plugins.core.noise import quiet_known_noise
    # before the libraries that print it are imported (gym: by learn2learn)
    quiet_known_noise(printed_on_import=('gym', ))
    from brnpa_plugins.core.checks import UnknownKeyError
    from brnpa_plugins.openmmlab.tools import close_process_group
    try:
        main()
    except UnknownKeyError as error:  # a misspelt key: no traceback needed
        sys.exit(f'error: {error}')
    finally:
        close_process_group()
