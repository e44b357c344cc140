"""Convert a runner checkpoint written without brnpa_plugins to the plain form.

    python tools/upgrade_checkpoint.py CHECKPOINT [--out NEW] [--trust]

mmengine, without brnpa_plugins, pickles its ``HistoryBuffer`` objects in a
form that ``torch.load(weights_only=True)`` refuses. This reads such a file
without running anything from it (stand-ins for exactly what a runner
checkpoint references: ``HistoryBuffer``, numeric numpy arrays and scalars)
and writes it again, atomically, with plain values only: the result loads
with a plain ``torch.load(path)``.

A file that references anything else is refused, with the list of what it
references. ``--trust`` loads such a file with ``weights_only=False``, which
runs whatever code it names: only for files you produced yourself.
"""
import argparse
import sys

from brnpa_plugins.core.io import CheckpointError
from brnpa_plugins.openmmlab.checkpoint import upgrade_checkpoint


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('checkpoint', help='the checkpoint to convert')
    parser.add_argument('--out', help='where to write (default: in place)')
    parser.add_argument(
        '--trust', action='store_true',
        help='load a file that references other code with '
        'weights_only=False (runs that code; only for your own files)')
    args = parser.parse_args(argv)
    try:
        path, trusted = upgrade_checkpoint(args.checkpoint, args.out,
                                           trust=args.trust)
    except (CheckpointError, FileNotFoundError) as error:
        print(f'error: {error}', file=sys.stderr)
        return 1
    if trusted:
        print(f'loaded with --trust, which allowed {trusted}')
    print(f'wrote {path}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
