"""Compare the faithfulness of saliency maps on a test set (spec section 7).

    python tools/eval_saliency.py CONFIG CHECKPOINT [--name BR-NPA]
        [--methods attention ...]
        [--cnn-config CONFIG --cnn-checkpoint CKPT --cnn-methods gradcam ...]
        [--attention-model NAME CONFIG CHECKPOINT] ...
        [--num-images N] [--max-steps 196] [--batch-size 64]
        [--rise-masks 4000] [--tolerance 15] [--out-dir DIR] [--device cpu]

The model of CONFIG / CHECKPOINT and each ``--attention-model`` (e.g. B-CNN)
are explained by ``--methods`` (by default their own top-ranked attention
map, ``attention``; ``attention-all`` sums all their maps); post-hoc methods
explain the plain CNN of ``--cnn-config`` / ``--cnn-checkpoint``. Every
method is scored on the same images of CONFIG's test set (all, or
``--num-images`` drawn at random), for the class its model predicts.

Writes to ``--out-dir``: ``saliency.md`` and ``saliency.csv`` (mean, 95%
interval and Welch p-value against the first method, per metric), and
``curves.png`` (mean deletion and insertion curves).
"""
import argparse
import inspect
import os
import sys
from collections import defaultdict
from typing import Dict, Iterator, List, NamedTuple

# Score-CAM and Ablation-CAM of the grad-cam package draw a progress bar per
# image; tqdm reads this when it is imported.
os.environ.setdefault('TQDM_DISABLE', '1')

import numpy as np  # noqa: E402
import torch  # noqa: E402
from mmengine.config import Config  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402
from mmengine.runner import Runner  # noqa: E402
from torch import nn  # noqa: E402

import brnpa_plugins.openmmlab  # noqa: E402,F401
from brnpa_plugins.data import load_part_locations  # noqa: E402
from brnpa_plugins.evaluation import (  # noqa: E402
    DEFAULT_MAX_STEPS, HIGHER_IS_BETTER, SALIENCY_METHODS, compute_saliency,
    evaluate_maps, pointing_game, predict, random_pointing_baseline)
from brnpa_plugins.evaluation.report import (  # noqa: E402
    csv_table, markdown_table, plot_mean_curves, summarize, write_text)
from brnpa_plugins.openmmlab.saliency_metric import \
    saliency_layers  # noqa: E402

POSTHOC_NAMES = {
    'gradcam': 'Grad-CAM',
    'gradcam++': 'Grad-CAM++',
    'scorecam': 'Score-CAM',
    'ablationcam': 'Ablation-CAM',
    'rise': 'RISE',
    'norm': 'norm map',
}


class Explainer(NamedTuple):
    """One row of the table: a saliency method applied to a model."""
    label: str
    model: nn.Module
    method: str


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='config of the main model')
    parser.add_argument('checkpoint', help='checkpoint of the main model')
    parser.add_argument('--name', default='BR-NPA',
                        help='label of the main model (default: BR-NPA)')
    parser.add_argument('--methods', nargs='+', default=['attention'],
                        help='saliency methods for the main model and the '
                        '--attention-model models')
    parser.add_argument('--cnn-config', help='config of the plain CNN')
    parser.add_argument('--cnn-checkpoint', help='checkpoint of the CNN')
    parser.add_argument(
        '--cnn-methods', nargs='+',
        default=['norm', 'gradcam', 'gradcam++', 'scorecam', 'ablationcam',
                 'rise'], help='post-hoc methods applied to the CNN')
    parser.add_argument(
        '--attention-model', nargs=3, action='append', default=[],
        metavar=('NAME', 'CONFIG', 'CHECKPOINT'),
        help='another attention model, explained by its own maps')
    parser.add_argument('--num-images', type=int, default=None,
                        help='N test images drawn at random with --seed '
                        '(default: all, in order)')
    parser.add_argument('--max-steps', type=int, default=DEFAULT_MAX_STEPS)
    parser.add_argument('--batch-size', type=int, default=64,
                        help='most perturbed images per forward pass')
    parser.add_argument('--blur-kernel', type=int, default=None,
                        help='side of the insertion blur (default: '
                        'max(H // 5, 9), odd)')
    parser.add_argument('--rise-masks', type=int, default=4000)
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the image subset and of RISE')
    parser.add_argument('--tolerance', type=float, default=15.0,
                        help='pointing-game hit radius in input pixels')
    parser.add_argument('--out-dir', default='outputs/saliency')
    parser.add_argument('--device', default='cpu')
    args = parser.parse_args(argv)
    if bool(args.cnn_config) != bool(args.cnn_checkpoint):
        parser.error('--cnn-config and --cnn-checkpoint go together')
    if args.num_images is not None and args.num_images < 1:
        parser.error(f'--num-images must be >= 1, got {args.num_images}')
    methods = args.methods + (args.cnn_methods if args.cnn_config else [])
    unknown = sorted(set(methods) - set(SALIENCY_METHODS))
    if unknown:
        parser.error(f'unknown saliency methods {unknown}; registered: '
                     f'{sorted(SALIENCY_METHODS)}')
    return args


def load_model(config: str, checkpoint: str, device: str) -> nn.Module:
    from mmpretrain.apis import get_model
    return get_model(config, pretrained=checkpoint, device=device).eval()


def _label(name: str, method: str) -> str:
    suffix = {'attention': '', 'attention-all': ' (all maps)'}
    return name + suffix.get(method, f' {method}')


def build_explainers(args) -> List[Explainer]:
    models = [(args.name, load_model(args.config, args.checkpoint,
                                     args.device))]
    models += [(name, load_model(config, checkpoint, args.device))
               for name, config, checkpoint in args.attention_model]
    explainers = [Explainer(_label(name, method), model, method)
                  for name, model in models for method in args.methods]
    if args.cnn_config:
        cnn = load_model(args.cnn_config, args.cnn_checkpoint, args.device)
        explainers += [
            Explainer(f'{POSTHOC_NAMES.get(m, m)} (CNN)', cnn, m)
            for m in args.cnn_methods
        ]
    return explainers


def test_batches(config: str, num_images, seed: int = 0) -> Iterator[dict]:
    """Raw test batches of the config: all, or ``num_images`` at random."""
    cfg = Config.fromfile(config)
    loader_cfg = dict(cfg.test_dataloader)
    loader_cfg.update(num_workers=0, persistent_workers=False)
    if num_images is not None:
        # A seeded random subset: the test list is often sorted by class.
        loader_cfg['sampler'] = dict(type='DefaultSampler', shuffle=True,
                                     seed=seed)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope',
                                                      'mmpretrain')):
        loader = Runner.build_dataloader(loader_cfg)
    left = len(loader.dataset) if num_images is None else num_images
    for batch in loader:
        if left <= 0:
            return
        yield {key: value[:left] for key, value in batch.items()}
        left -= len(batch['data_samples'])


def part_points(data_root: str, samples) -> list:
    """Part centres of each sample, scaled from the file to the input."""
    locations = load_part_locations(data_root)
    images_root = os.path.join(data_root, 'images')
    points = []
    for sample in samples:
        scale = np.array(sample.img_shape[::-1], dtype=np.float64) / \
            np.array(sample.ori_shape[::-1], dtype=np.float64)
        key = os.path.relpath(sample.img_path, images_root)
        points.append(locations.get(key, np.zeros((0, 2))) * scale)
    return points


def method_options(method: str, args) -> dict:
    options = {}
    parameters = inspect.signature(SALIENCY_METHODS[method]).parameters
    if 'batch_size' in parameters:
        options['batch_size'] = args.batch_size
    if method == 'rise':
        options.update(num_masks=args.rise_masks, seed=args.seed)
    return options


def evaluate(args, explainers: List[Explainer]):
    """Per-image scores and curves of every explainer."""
    data_root = Config.fromfile(args.config).test_dataloader.dataset.get(
        'data_root', '')
    has_parts = os.path.isfile(
        os.path.join(data_root, 'parts', 'part_locs.txt'))
    scores: Dict[str, Dict[str, list]] = defaultdict(lambda: defaultdict(
        list))
    curves: Dict[str, Dict[str, list]] = defaultdict(lambda: defaultdict(
        list))
    random_hits = []
    batches = test_batches(args.config, args.num_images, args.seed)
    for index, batch in enumerate(batches, 1):
        if has_parts:
            samples = batch['data_samples']
            size = tuple(samples[0].img_shape)
            random_hits.append(random_pointing_baseline(
                len(samples), size, part_points(data_root, samples), size,
                args.tolerance, args.seed + index).numpy())
        for explainer in explainers:
            model = explainer.model
            data = model.data_preprocessor(batch, False)
            images = data['inputs']
            targets = predict(model, images, args.batch_size).argmax(dim=1)
            saliency = compute_saliency(explainer.method, model, images,
                                        targets, saliency_layers(model),
                                        **method_options(
                                            explainer.method, args))
            result = evaluate_maps(model, images, saliency, targets,
                                   args.max_steps, args.batch_size,
                                   args.blur_kernel)
            if has_parts:
                result.scores['pointing'] = pointing_game(
                    saliency.cpu(), part_points(data_root,
                                                data['data_samples']),
                    images.shape[-2:], args.tolerance)
            for name, values in result.scores.items():
                scores[explainer.label][name].append(values.numpy())
            for mode, curve in result.curves.items():
                curves[explainer.label][mode].append(curve.scores.numpy())
            print(f'batch {index}: {explainer.label} done',
                  file=sys.stderr, flush=True)
    scores = {label: {name: np.concatenate(v) for name, v in metrics.items()}
              for label, metrics in scores.items()}
    curves = {label: {mode: np.concatenate(v) for mode, v in modes.items()}
              for label, modes in curves.items()}
    random_pointing = (np.nanmean(np.concatenate(random_hits))
                       if random_hits else None)
    return scores, curves, random_pointing


def main(argv=None):
    args = parse_args(argv)
    torch.manual_seed(args.seed)
    explainers = build_explainers(args)
    scores, curves, random_pointing = evaluate(args, explainers)
    rows = summarize(scores, reference=explainers[0].label)
    better = dict(HIGHER_IS_BETTER, pointing=True)
    table = markdown_table(rows, better)
    if random_pointing is not None:
        table += ('\nPOINTING: hit rate of the map peak within '
                  f'{args.tolerance:g} px of a part; uniformly random maps '
                  f'score {random_pointing:.3f} on the same images.\n')
    os.makedirs(args.out_dir, exist_ok=True)
    write_text(os.path.join(args.out_dir, 'saliency.md'), table)
    write_text(os.path.join(args.out_dir, 'saliency.csv'), csv_table(rows))
    plot_mean_curves(curves, os.path.join(args.out_dir, 'curves.png'),
                     title=f'{len(next(iter(scores.values()))["dauc"])} '
                     'test images')
    print(table)
    print(f'written to {args.out_dir}/saliency.md, saliency.csv, curves.png')


if __name__ == '__main__':
    sys.exit(main())
