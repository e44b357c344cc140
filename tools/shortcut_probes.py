"""Data-only shortcut probes of a dataset, each next to chance.

    python tools/shortcut_probes.py ROOT [--seed 0]

ROOT is a CUB-200-2011-layout folder (a generated benchmark adds the
co-occurrence probe). See :mod:`brnpa_plugins.evaluation.shortcuts`.
"""
import argparse

from brnpa_plugins.evaluation.shortcuts import probe_table, shortcut_probes


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('root', help='dataset folder (CUB layout)')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the probes\' solver')
    args = parser.parse_args(argv)
    try:
        probes = shortcut_probes(args.root, args.seed)
    except (FileNotFoundError, ValueError) as error:
        parser.error(str(error))
    print(probe_table(probes), end='')


if __name__ == '__main__':
    main()
