"""Make, or check, the tiny-set tables of docs/reid.md (part logits on/off).

    python tools/reid_tiny_table.py --work-dir /tmp/reid-table --set harder
    python tools/reid_tiny_table.py --work-dir /tmp/reid-table --set harder \
        --epochs 5 --seeds 1 --check docs/reid.md

Writes the tiny Market-1501 of the set with tools/make_tiny_reid_data.py,
trains ``brnpa_resnet18`` from scratch with tools/train_reid.py once per
(epochs, seed, part_logits) and prints the rank-1 / mAP table, with the
machine and every command. ``--check FILE`` compares the cells it ran with
the table of the same set in FILE (found after the line
``<!-- reid_tiny_table --set NAME -->``) and exits with 1 when any differs.

The runs are deterministic on one machine, but training from scratch on a
few hundred images amplifies the last bits of every float operation, so
the numbers depend on the thread count and on the CPU kernels torch picks
for the processor. Each run therefore gets one thread and the kernels of
one instruction set (the ``PINNED`` variables below); the table names the
CPU it was made on.
"""
import argparse
import os
import os.path as osp
import re
import shlex
import shutil
import subprocess
import sys

from brnpa_plugins.profiling import machine, pinned_cpu_env

TOOLS = osp.dirname(osp.abspath(__file__))
REPO = osp.dirname(TOOLS)

#: One thread and the AVX2 kernels (profiling.pinned_cpu_env).
PINNED = pinned_cpu_env(1)

#: Per set: the data maker's options and the training overrides.
SETS = {
    'harder': (['--train-ids', '40', '--test-ids', '40', '--jitter', '60'],
               ['train.batch_size', '16', 'test.batch_size', '64']),
    'default': ([], ['train.batch_size', '8', 'test.batch_size', '16']),
}
COMMON = ['model.name', 'brnpa_resnet18', 'model.pretrained', 'False',
          'data.height', '64', 'data.width', '32', 'data.workers', '0',
          'train.fixbase_epoch', '0', 'train.print_freq', '100', 'use_gpu',
          'False']
MARKER = '<!-- reid_tiny_table --set {} -->'
ROW = re.compile(r'^\| *(\d+) *\| *(\d+) *\| *([\d.]+) / ([\d.]+) *\| *'
                 r'([\d.]+) / ([\d.]+) *\|$')


def train_command(root: str, save_dir: str, set_name: str, epochs: int,
                  seed: int, part_logits: bool):
    return [sys.executable, osp.join(TOOLS, 'train_reid.py'), '--root', root,
            *COMMON, *SETS[set_name][1], 'train.max_epoch', str(epochs),
            'train.seed', str(seed), 'model.part_logits', str(part_logits),
            'data.save_dir', save_dir]


def shown(command) -> str:
    """A command as a user types it (pinned variables first)."""
    pins = ' '.join(f'{key}={value}' for key, value in PINNED.items())
    words = ['python', osp.relpath(command[1], REPO), *command[2:]]
    return f'{pins} {shlex.join(words)}'


def final_scores(log: str):
    """(rank-1, mAP) in percent, of the last evaluation in a train log."""
    rank1 = re.findall(r'^Rank-1 *: ([\d.]+)%', log, re.M)
    mean_ap = re.findall(r'^mAP: ([\d.]+)%', log, re.M)
    if not rank1 or not mean_ap:
        raise RuntimeError(f'no rank-1 / mAP in the log:\n{log[-2000:]}')
    return float(rank1[-1]), float(mean_ap[-1])


def documented(path: str, set_name: str) -> dict:
    """(epochs, seed) -> ((rank-1, mAP) off, (rank-1, mAP) on) of the table
    after the set's marker in ``path``."""
    with open(path, encoding='utf-8') as stream:
        lines = stream.read().splitlines()
    marker = MARKER.format(set_name)
    if marker not in lines:
        raise SystemExit(f'error: {path} has no line {marker!r} before a '
                         'table of this set')
    table = {}
    for line in lines[lines.index(marker) + 1:]:
        if table and not line.startswith('|'):
            break
        match = ROW.match(line.strip())
        if match:
            epochs, seed, *cells = match.groups()
            values = [float(v) for v in cells]
            table[int(epochs), int(seed)] = (tuple(values[:2]),
                                             tuple(values[2:]))
    return table


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--work-dir', required=True,
                        help='folder for the data and the runs')
    parser.add_argument('--set', choices=sorted(SETS), default='harder')
    parser.add_argument('--epochs', type=int, nargs='+', default=[5, 10])
    parser.add_argument('--seeds', type=int, nargs='+', default=[1, 2, 3])
    parser.add_argument('--check', metavar='FILE',
                        help='compare with the table of the set in FILE')
    args = parser.parse_args(argv)
    expected = documented(args.check, args.set) if args.check else None

    root = osp.join(args.work_dir, args.set, 'data')
    if not osp.isdir(root):
        subprocess.run([sys.executable, osp.join(TOOLS,
                                                 'make_tiny_reid_data.py'),
                        '--out', root, *SETS[args.set][0]], check=True)
    env = dict(os.environ, **PINNED)
    env['PYTHONPATH'] = os.pathsep.join(
        [REPO] + [p for p in [os.environ.get('PYTHONPATH')] if p])
    print(f'Machine: {machine("cpu", threads=1)}')
    print('Data: python tools/make_tiny_reid_data.py --out DATA '
          + shlex.join(SETS[args.set][0]))
    results, mismatches = {}, []
    for epochs in args.epochs:
        for seed in args.seeds:
            for part_logits in (False, True):
                save_dir = osp.join(args.work_dir, args.set, 'runs',
                                    f'e{epochs}_s{seed}_parts{part_logits}')
                shutil.rmtree(save_dir, ignore_errors=True)  # a fresh log
                command = train_command(root, save_dir, args.set, epochs,
                                        seed, part_logits)
                print(shown(command), flush=True)
                run = subprocess.run(command, capture_output=True,
                                     text=True, env=env)
                if run.returncode:
                    raise SystemExit(f'error: the run failed:\n'
                                     f'{run.stderr[-3000:]}')
                results[epochs, seed, part_logits] = final_scores(run.stdout)
                print(f'  rank-1 / mAP: {results[epochs, seed, part_logits]}',
                      flush=True)
    print('\n| epochs | seed | `part_logits False` | `part_logits True` |')
    print('|---|---|---|---|')
    for epochs in args.epochs:
        for seed in args.seeds:
            cells = [results[epochs, seed, parts] for parts in (False, True)]
            print(f'| {epochs} | {seed} | ' + ' | '.join(
                f'{r:.1f} / {m:.1f}' for r, m in cells) + ' |')
            if expected is not None and \
                    tuple(cells) != expected.get((epochs, seed)):
                mismatches.append(f'epochs {epochs}, seed {seed}: ran '
                                  f'{cells}, {args.check} says '
                                  f'{expected.get((epochs, seed))}')
    if expected is not None:
        print('\n' + ('\n'.join(['Differs from the table:'] + mismatches)
                      if mismatches else
                      f'Same as the table in {args.check}.'))
    return 1 if mismatches else 0


if __name__ == '__main__':
    sys.exit(main())
