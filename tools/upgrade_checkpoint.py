"""Convert a runner checkpoint written without brnpa_plugins to the safe form.

    python tools/upgrade_checkpoint.py CHECKPOINT [--out NEW_CHECKPOINT]

Checkpoints that mmengine wrote before brnpa_plugins was imported pickle its
``HistoryBuffer`` objects in a form that ``torch.load(weights_only=True)``
refuses. This loads such a file ONCE with ``weights_only=False`` -- only run
it on files you produced yourself -- and writes it again (atomically) in the
form that loads with ``weights_only=True``.
"""
import argparse

from brnpa_plugins.openmmlab.checkpoint import upgrade_checkpoint


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('checkpoint', help='a checkpoint you trust')
    parser.add_argument('--out', help='where to write (default: in place)')
    args = parser.parse_args()
    print(f'wrote {upgrade_checkpoint(args.checkpoint, args.out)}')


if __name__ == '__main__':
    main()
