"""Data-only shortcut probes of a dataset, each next to chance.

    python tools/shortcut_probes.py ROOT [--seed 0] [--stride 8]

ROOT is a CUB-200-2011-layout folder. A generated benchmark adds the
co-occurrence probe and the model-free cue detectors' scores on its test
images (maps of ``--stride`` px cells). See
:mod:`brnpa_plugins.evaluation.shortcuts`.
"""
import argparse
import os

from brnpa_plugins.data.synthetic import OBJECTS_FILE
from brnpa_plugins.evaluation.shortcuts import (cue_detector_scores,
                                                cue_table, probe_table,
                                                shortcut_probes)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('root', help='dataset folder (CUB layout)')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the probes\' solver')
    parser.add_argument('--stride', type=int, default=8,
                        help='cell size of the cue detectors\' maps in px')
    args = parser.parse_args(argv)
    try:
        probes = shortcut_probes(args.root, args.seed)
        print(probe_table(probes), end='')
        if os.path.isfile(os.path.join(args.root, OBJECTS_FILE)):
            scores = cue_detector_scores(args.root, args.stride)
            print('\n' + cue_table(scores, args.stride), end='')
    except (FileNotFoundError, ValueError) as error:
        parser.error(str(error))


if __name__ == '__main__':
    main()
