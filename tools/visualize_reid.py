"""Draw the BR-NPA part maps of queries and of their top-k gallery matches.

    python tools/visualize_reid.py --config-file configs/reid/CONFIG.yaml \
        --root reid-data --weights log/.../model.pth.tar-60 \
        --out-dir log/maps [--num-queries 8] [--topk 5] [KEY VALUE ...]

Writes one PNG per query: the query's ranked maps, then those of its
matches in ranking order (see brnpa_plugins/reid/visualize.py). With
--actmap, also every query and gallery image with its attention maps
overlaid, in OUT_DIR/actmap/<dataset>/<query|gallery>/ (the BR-NPA version
of torchreid's visualize_actmap; --max-images limits the images per split).
"""
import argparse
import os.path as osp
import sys

from brnpa_plugins.core.noise import quiet_known_noise

quiet_known_noise()  # torchreid warns on import (core/noise.py)
import brnpa_plugins.reid  # noqa: F401  (registers the BR-NPA models)
from brnpa_plugins.core.checks import UnknownKeyError
from brnpa_plugins.reid.build import (build_datamanager, build_model,
                                      parallelize)
from brnpa_plugins.reid.checkpoint import (WeightsMismatchError,
                                           load_all_weights)
from brnpa_plugins.reid.config import build_config
from brnpa_plugins.reid.visualize import visualize_actmap, visualize_matches


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--config-file', type=str, default='')
    parser.add_argument('--weights', required=True,
                        help='checkpoint of the trained model')
    parser.add_argument('--out-dir', required=True)
    parser.add_argument('--root', type=str, default='')
    parser.add_argument('-t', '--target', type=str, default='',
                        help='dataset to draw (default: first target)')
    parser.add_argument('--num-queries', type=int, default=8)
    parser.add_argument('--topk', type=int, default=5)
    parser.add_argument('--actmap', action='store_true',
                        help='also overlay the maps on every query and '
                        'gallery image, in OUT_DIR/actmap')
    parser.add_argument('--max-images', type=int, default=0,
                        help='with --actmap: images per split (0: all)')
    parser.add_argument('opts', nargs=argparse.REMAINDER,
                        help='KEY VALUE pairs that override the config')
    args = parser.parse_args(argv)

    # The trained weights replace the backbone's: no ImageNet download.
    cfg = build_config(args.config_file,
                       list(args.opts) + ['model.pretrained', 'False'],
                       root=args.root,
                       targets=[args.target] if args.target else None)

    datamanager = build_datamanager(cfg)
    model = build_model(cfg, datamanager.num_train_pids)
    # Every weight the maps and the ranking use must come from the
    # checkpoint: a config of another model would draw random weights.
    load_all_weights(model, args.weights, built_from=(
        f'config file {args.config_file or "(none: the defaults)"} with '
        f'overrides {list(args.opts)}'))
    model = parallelize(cfg, model)
    paths = visualize_matches(model, datamanager, args.out_dir,
                              num_queries=args.num_queries, topk=args.topk,
                              dist_metric=cfg.test.dist_metric,
                              normalize_feature=cfg.test.normalize_feature)
    print(f'Wrote {len(paths)} figures to {args.out_dir}')
    if args.actmap:
        maps = visualize_actmap(model, datamanager, args.out_dir,
                                cfg.data.targets[0],
                                max_images=args.max_images)
        print(f'Wrote {len(maps)} activation maps to '
              f'{osp.join(args.out_dir, "actmap")}')
    return 0


if __name__ == '__main__':
    try:
        sys.exit(main())
    except (UnknownKeyError, WeightsMismatchError) as error:  # bad input
        sys.exit(f'error: {error}')
