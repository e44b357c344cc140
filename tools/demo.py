"""The embedded demo: generate data, train BR-NPA, test it, draw its maps.

    python tools/demo.py [--out-dir outputs/demo]

Runs on a CPU in a few minutes with nothing to download:
1. generates the fine-grained dataset (CUB-200-2011 layout) in --data-root;
2. trains the config with ``tools/train.py`` (mmpretrain's tool);
3. tests the last checkpoint with ``tools/test.py --out`` (predictions carry
   the attention maps);
4. scores accuracy and the pointing game (does the top-ranked map's peak fall
   on a part?) against the same score for random maps, and writes
   ``metrics.json``;
5. writes the ranked attention maps of a few test images as PNG files.
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np
from PIL import Image

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_CONFIG = os.path.join(
    'configs', 'brnpa', 'brnpa_resnet18-w16_1xb32_synthetic-parts.py')


def parse_args():
    parser = argparse.ArgumentParser(
        description='Train, test and draw BR-NPA on the generated dataset.')
    parser.add_argument('--out-dir', default='outputs/demo')
    parser.add_argument('--data-root', default='data/synthetic_parts')
    parser.add_argument('--config', default=DEFAULT_CONFIG)
    parser.add_argument('--epochs', type=int, default=None,
                        help='override the config\'s max_epochs')
    parser.add_argument('--num-maps', type=int, default=8,
                        help='test images whose maps are drawn')
    return parser.parse_args()


def run(*args):
    command = [sys.executable, *args]
    print('+', ' '.join(command), flush=True)
    subprocess.run(command, check=True, cwd=REPO)


def data_options(data_root):
    options = []
    for loader in ('train_dataloader', 'test_dataloader'):
        options += [
            f'{loader}.dataset.data_root={data_root}',
            f'{loader}.dataset.classes={data_root}/class_names.txt'
        ]
    return options


def write_json(path, payload):
    from brnpa_plugins.core import atomic_write
    atomic_write(path, lambda stream: json.dump(payload, stream, indent=2),
                 mode='w')


def draw_maps(predictions, classes, out_dir, count):
    """One PNG per test image (one image per class first), and an overview."""
    from brnpa_plugins.core import render_ranked_maps, save_png
    chosen, seen = [], set()
    for prediction in predictions:
        label = int(prediction['gt_label'][0])
        if label not in seen:
            seen.add(label)
            chosen.append(prediction)
    chosen = (chosen + [p for p in predictions if p not in chosen])[:count]
    figures = []
    for index, prediction in enumerate(chosen):
        predicted = int(prediction['pred_label'][0])
        truth = int(prediction['gt_label'][0])
        mark = 'ok' if predicted == truth else f'true {classes[truth]}'
        title = f'{classes[predicted]} ({mark})'
        image = np.asarray(Image.open(prediction['img_path']).convert('RGB'))
        figure = render_ranked_maps(image, prediction['attention_maps'],
                                    prediction['feature_norm'],
                                    prediction['part_activity'], title)
        save_png(figure, os.path.join(out_dir, 'maps', f'{index:02d}.png'))
        figures.append(np.asarray(figure))
    overview = Image.fromarray(np.concatenate(figures[:4], axis=0))
    save_png(overview, os.path.join(out_dir, 'maps', 'overview.png'))
    return len(figures)


def main():
    args = parse_args()
    sys.path.insert(0, REPO)
    from mmengine import load

    from brnpa_plugins.data import SyntheticPartsConfig, generate_part_dataset
    from brnpa_plugins.evaluation.pointing import pointing_game_on_predictions

    out_dir = os.path.abspath(args.out_dir)
    work_dir = os.path.join(out_dir, 'work_dir')
    data_root = os.path.abspath(args.data_root)
    os.makedirs(out_dir, exist_ok=True)

    data_config = SyntheticPartsConfig()
    generate_part_dataset(data_root, data_config)
    print(f'dataset: {data_root}', flush=True)

    options = data_options(data_root)
    if args.epochs is not None:
        options.append(f'train_cfg.max_epochs={args.epochs}')
    run('tools/train.py', args.config, '--work-dir', work_dir,
        '--cfg-options', *options)
    with open(os.path.join(work_dir, 'last_checkpoint')) as stream:
        checkpoint = stream.read().strip()
    predictions_file = os.path.join(out_dir, 'predictions.pkl')
    run('tools/test.py', args.config, checkpoint, '--work-dir', work_dir,
        '--out', predictions_file, '--cfg-options', *data_options(data_root))

    predictions = load(predictions_file)
    correct = [int(p['pred_label'][0]) == int(p['gt_label'][0])
               for p in predictions]
    tolerance = data_config.part_size / 2
    model_hits, random_hits = pointing_game_on_predictions(
        predictions, data_root, tolerance)
    with open(os.path.join(data_root, 'class_names.txt')) as stream:
        classes = stream.read().split()
    metrics = {
        'test_images': len(predictions),
        'num_classes': len(classes),
        'accuracy': float(np.mean(correct)),
        'chance_accuracy': 1 / len(classes),
        'pointing_game_top_map': float(model_hits.nanmean()),
        'pointing_game_random_map': float(random_hits.nanmean()),
        'pointing_tolerance_px': tolerance,
        'checkpoint': checkpoint,
        'config': args.config,
    }
    write_json(os.path.join(out_dir, 'metrics.json'), metrics)
    drawn = draw_maps(predictions, classes, out_dir, args.num_maps)
    print(f'\naccuracy {metrics["accuracy"]:.3f} (chance '
          f'{metrics["chance_accuracy"]:.3f}) on {len(predictions)} test '
          'images')
    print(f'pointing game: top-ranked map {metrics["pointing_game_top_map"]:.3f}'
          f', random map {metrics["pointing_game_random_map"]:.3f} '
          f'(peak within {tolerance:g} px of a part)')
    print(f'metrics: {out_dir}/metrics.json; {drawn} attention-map figures '
          f'in {out_dir}/maps/')


if __name__ == '__main__':
    main()
