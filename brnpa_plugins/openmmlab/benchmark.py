"""The saliency benchmark on mmpretrain models: ``tools/eval_saliency.py``.

    python tools/eval_saliency.py CONFIG CHECKPOINT [--name BR-NPA]
        [--methods attention norm ...] [--controls random gaussian ...]
        [--cnn-config CONFIG --cnn-checkpoint CKPT --cnn-methods gradcam ...]
        [--attention-model NAME CONFIG CHECKPOINT] ...
        [--num-images N] [--perturbation-images P] [--expensive-images E]
        [--max-steps 196]
        [--random-seeds 10] [--method-option rise.num_masks=4000]
        [--untrained-draws 3] [--untrained-methods attention ...]
        [--sanity] [--sanity-draws 3]
        [--cascade-steps 4]
        [--batch-size 64] [--out-dir DIR] [--device cpu]

The model of CONFIG / CHECKPOINT (the reference row) and each
``--attention-model`` are explained by ``--methods``; the controls
(``--controls``; by default uniform random over ``--random-seeds`` seeds, a
centred Gaussian, the model-free colour saturation and, on the generated
benchmark, every model-free cue detector (white pixels, edge energy), the
oracle on the maps' grid, the pixel oracle and the anti-oracle) are scored
on the reference model;
post-hoc methods explain the plain CNN of ``--cnn-config``. Every registered
saliency method can be named, and its record decides how it is labelled,
whether it is a control and whether it is expensive (run on the
perturbation images only). What is scored is described in
:mod:`brnpa_plugins.evaluation.benchmark`. Writes to ``--out-dir``:
``saliency.md`` (means, 95% intervals: Student t for means, exact
Clopper-Pearson for rates; paired Wilcoxon / exact McNemar tests against the
reference row, Holm-corrected; the benchmark's validity checks),
``saliency.csv``, ``per_image.csv`` (every score of every image),
``summary.json`` and ``curves.png`` (mean deletion and insertion curves).
On the generated benchmark the report also counts, per model, how often
its prediction follows each kind of evidence when the test scenes are
re-rendered with it changed (:mod:`brnpa_plugins.evaluation.interventions`).

This module adapts mmpretrain to the ecosystem-free benchmark: it loads the
models and the test set through mmengine, and reads the generated
benchmark's ground truth and re-rendered scenes for the samples of a batch.
"""
import argparse
import os
from typing import Dict, Iterator, List, Optional

import numpy as np
import torch
from torch import nn

from ..core import atomic_write_json, atomic_write_text
from ..core.checks import check_positive_options
from ..data import load_part_locations, synthetic
from ..evaluation import ground_truth as gt
from ..evaluation.benchmark import (HIGHER, RATE_METRICS, Batch, Evaluation,
                                    Options, build_rows, default_controls,
                                    perturbation_subset, validity_checks,
                                    validity_text)
from ..evaluation.interventions import InterventionTally
from ..evaluation.perturbation import DEFAULT_MAX_STEPS
from ..evaluation.report import (csv_table, markdown_table, per_image_csv,
                                 plot_mean_curves, summarize)
from ..evaluation.scoring import predict
from .saliency_metric import saliency_context

DEFAULT_CNN_METHODS = ('norm', 'gradcam', 'gradcam++', 'scorecam',
                       'ablationcam', 'rise')


def _method_option(text: str):
    """``METHOD.KEY=VALUE`` -> (method, key, value), the value read as a
    Python literal where it is one (``rise.num_masks=300``)."""
    import ast
    name, _, value = text.partition('=')
    method, _, key = name.partition('.')
    if not (method and key and _):
        raise argparse.ArgumentTypeError(
            f'{text!r}: expected METHOD.KEY=VALUE, e.g. rise.num_masks=300')
    try:
        value = ast.literal_eval(value)
    except (ValueError, SyntaxError):
        pass
    return method, key, value


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Compare saliency maps on a test set: faithfulness, '
        'ground truth, controls.',
        epilog='See brnpa_plugins/openmmlab/benchmark.py and '
        'docs/interpretability.md.')
    parser.add_argument('config', help='config of the main model')
    parser.add_argument('checkpoint', help='checkpoint of the main model')
    parser.add_argument('--name', default='BR-NPA',
                        help='label of the main model (default: BR-NPA)')
    parser.add_argument('--methods', nargs='+', default=['attention'],
                        help='saliency methods for the main model and the '
                        '--attention-model models')
    parser.add_argument(
        '--controls', nargs='*', default=None,
        help='control maps scored on the main model (default: random '
        'gaussian saturation, plus on the generated benchmark every cue '
        'detector (white-pixels, edge-energy), oracle, oracle-pixels and '
        'anti-oracle)')
    parser.add_argument('--cnn-config', help='config of the plain CNN')
    parser.add_argument('--cnn-checkpoint', help='checkpoint of the CNN')
    parser.add_argument('--cnn-methods', nargs='+',
                        default=list(DEFAULT_CNN_METHODS),
                        help='post-hoc methods applied to the CNN')
    parser.add_argument('--cnn-name', default='CNN',
                        help='label of the plain CNN (default: CNN)')
    parser.add_argument(
        '--attention-model', nargs=3, action='append', default=[],
        metavar=('NAME', 'CONFIG', 'CHECKPOINT'),
        help='another attention model, explained by --methods')
    parser.add_argument('--num-images', type=int, default=None,
                        help='N test images drawn at random with --seed '
                        '(default: all, in order)')
    parser.add_argument('--perturbation-images', type=int, default=None,
                        help='deletion/insertion metrics on P of the images, '
                        'evenly spaced in the test list (default: all)')
    parser.add_argument('--expensive-images', type=int, default=None,
                        help='expensive methods (RISE, Score-CAM: hundreds '
                        'of forward passes per image) on E of the images, '
                        'evenly spaced (default: the --perturbation-images '
                        'ones)')
    parser.add_argument('--max-steps', type=int, default=DEFAULT_MAX_STEPS)
    parser.add_argument('--batch-size', type=int, default=64,
                        help='most perturbed images per forward pass')
    parser.add_argument('--blur-kernel', type=int, default=None,
                        help='side of the insertion blur (default: '
                        'max(H // 5, 9), odd)')
    parser.add_argument('--method-option', type=_method_option,
                        action='append', default=[],
                        metavar='METHOD.KEY=VALUE',
                        help='an argument of a saliency method, e.g. '
                        'rise.num_masks=4000 (repeatable)')
    parser.add_argument('--random-seeds', type=int, default=10,
                        help='seeds a seeded control (random) averages over')
    parser.add_argument('--sanity', action='store_true',
                        help='model-parameter randomisation check')
    parser.add_argument('--sanity-draws', type=int, default=3,
                        help='re-initialised copies the randomisation '
                        'check averages over (default: 3)')
    parser.add_argument('--cascade-steps', type=int, default=4,
                        help='with --sanity: steps of the cascading '
                        "randomisation of the main model's rows (layers "
                        're-initialised from the output down; default 4, '
                        '0: none)')
    parser.add_argument('--untrained-draws', type=int, default=3,
                        help="control rows: the main model's methods on this "
                        'many re-initialised copies of it (default: 3; 0: '
                        'none)')
    parser.add_argument('--untrained-methods', nargs='+', default=None,
                        metavar='METHOD',
                        help='the --methods that get untrained-network rows '
                        '(default: all)')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the image subset, seeded methods and '
                        'the randomised weights')
    parser.add_argument('--tolerance', type=float, default=None,
                        help='pointing hit radius in input pixels (default: '
                        'a quarter of the part size on the generated '
                        'benchmark, 15 px elsewhere)')
    parser.add_argument('--data-root', default=None,
                        help="the test set's folder, instead of CONFIG's "
                        'test_dataloader.dataset.data_root')
    parser.add_argument('--out-dir', default='outputs/saliency')
    parser.add_argument('--device', default='cpu')
    args = parser.parse_args(argv)
    if bool(args.cnn_config) != bool(args.cnn_checkpoint):
        parser.error('--cnn-config and --cnn-checkpoint go together')
    check_positive_options(parser, args, ('num_images', 'perturbation_images',
                                          'expensive_images', 'random_seeds',
                                          'sanity_draws'))
    for name in ('untrained_draws', 'cascade_steps'):
        if getattr(args, name) < 0:
            parser.error(f"--{name.replace('_', '-')} must be >= 0, got "
                         f'{getattr(args, name)}')
    from ..evaluation.methods import saliency_methods
    known = saliency_methods()
    methods = args.methods + (args.cnn_methods if args.cnn_config else []) \
        + (args.controls or []) + [m for m, _, _ in args.method_option]
    unknown = sorted(set(methods) - set(known))
    if unknown:
        parser.error(f'unknown saliency methods {unknown}; registered '
                     f'(`brnpa plugins`): {sorted(known)}')
    for method, key, _ in args.method_option:
        if not known[method].accepts(key):
            parser.error(f'--method-option {method}.{key}: saliency method '
                         f'{method!r} takes no argument {key!r}')
    return args


def load_model(config: str, checkpoint: str, device: str) -> nn.Module:
    """The model of ``config`` with the weights of ``checkpoint``, in eval
    mode."""
    from mmpretrain.apis import get_model
    return get_model(config, pretrained=checkpoint, device=device).eval()


def test_config(config: str, data_root: Optional[str]):
    """CONFIG, its test set moved to ``data_root`` when one is given."""
    from mmengine.config import Config
    cfg = Config.fromfile(config)
    if data_root is not None:
        # CheckedCUB reads a relative classes file from its data_root
        cfg.test_dataloader.dataset.data_root = data_root
    return cfg


def test_loader(cfg, num_images: Optional[int], seed: int):
    """The test dataloader of ``cfg`` (a seeded random order when only
    ``num_images`` are scored: test lists are often sorted by class)."""
    from mmengine.registry import DefaultScope
    from mmengine.runner import Runner
    loader_cfg = dict(cfg.test_dataloader)
    loader_cfg.update(num_workers=0, persistent_workers=False)
    if num_images is not None:
        loader_cfg['sampler'] = dict(type='DefaultSampler', shuffle=True,
                                     seed=seed)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope',
                                                      'mmpretrain')):
        return Runner.build_dataloader(loader_cfg)


def test_batches(loader, num_images: Optional[int]) -> Iterator[dict]:
    """Raw test batches: all, or the first ``num_images``."""
    left = len(loader.dataset) if num_images is None else num_images
    for batch in loader:
        if left <= 0:
            return
        yield {key: value[:left] for key, value in batch.items()}
        left -= len(batch['data_samples'])


def relative_path(data_root: str, sample) -> str:
    """A sample's image path relative to ``data_root/images``."""
    images_root = os.path.join(data_root, 'images')
    return os.path.relpath(sample.img_path, images_root).replace(os.sep, '/')


def scale_of(sample) -> tuple:
    """(x, y) factors from file pixels to the model's input pixels."""
    return (sample.img_shape[1] / sample.ori_shape[1],
            sample.img_shape[0] / sample.ori_shape[0])


def benchmark_context(model: nn.Module) -> dict:
    """What saliency methods may read of an mmpretrain classifier: its
    layers and its input normalisation (0-255 pixel scale)."""
    preprocessor = model.data_preprocessor
    return dict(saliency_context(model),
                mean=preprocessor.mean.flatten().tolist(),
                std=preprocessor.std.flatten().tolist())


def _as_loaded(images: List[np.ndarray]) -> List[torch.Tensor]:
    """Rendered RGB H x W x 3 images as mmpretrain's loading gives them:
    uint8 C x H x W in BGR order (its preprocessor converts to RGB)."""
    return [torch.from_numpy(np.ascontiguousarray(
        image[..., ::-1].transpose(2, 0, 1))) for image in images]


class SceneTruth:
    """The generated benchmark's ground truth for mmpretrain samples:
    boxes, and each scene re-rendered with every object removed."""

    def __init__(self, data_root: str):
        self.data_root = data_root
        self.config = synthetic.load_config(data_root)
        self.objects = synthetic.load_objects(data_root)
        self.scenes = synthetic.load_scenes(data_root)
        self.shortcuts = (synthetic.load_shortcuts(data_root)
                          if self.config.shortcut != 'none' else None)

    def truth(self, samples) -> gt.GroundTruth:
        return gt.GroundTruth.from_objects(
            [self.objects[relative_path(self.data_root, s)]
             for s in samples], [scale_of(s) for s in samples])

    def shortcut(self, samples) -> Optional[gt.GroundTruth]:
        """The planted marker's box of each sample, "decisive" where the
        image shows a marker (None on a dataset without shortcut)."""
        if self.shortcuts is None:
            return None
        marked = [self.shortcuts[relative_path(self.data_root, s)]
                  for s in samples]
        return gt.GroundTruth.from_objects(
            [(box[None], np.array([code >= 0])) for box, code in marked],
            [scale_of(s) for s in samples])

    def render_variants(self, samples) -> List[torch.Tensor]:
        """Each image re-rendered, then once with each object removed:
        B x (K + 1) uint8 C x H x W tensors in mmpretrain's BGR order."""
        scenes = self.scenes_of(samples)
        count = max(len(s.objects) for s in scenes)
        rendered = []
        for scene in scenes:
            versions = [scene] + [synthetic.intervene(scene, k)
                                  for k in range(len(scene.objects))]
            versions += [versions[0]] * (count + 1 - len(versions))
            rendered += [synthetic.render_scene(v, self.config)
                         for v in versions]
        return _as_loaded(rendered)

    def scenes_of(self, samples) -> List[synthetic.Scene]:
        return [self.scenes[relative_path(self.data_root, s)]
                for s in samples]

    def count_interventions(self, tally: InterventionTally,
                            models: Dict[str, nn.Module], samples,
                            batch_size: int) -> None:
        """Run every model on the samples' scenes under every
        intervention of ``tally`` and add the predictions to it."""
        images, targets = tally.render(self.scenes_of(samples))
        inputs = _as_loaded(images)
        for name, model in models.items():
            normalised = model.data_preprocessor({'inputs': inputs},
                                                 False)['inputs']
            classes = predict(model, normalised,
                              batch_size).argmax(1).numpy()
            tally.add(name, dict(zip(
                tally.names, classes.reshape(len(tally.names), -1))),
                targets)

    @staticmethod
    def variants(model: nn.Module, rendered: List[torch.Tensor],
                 images: torch.Tensor) -> torch.Tensor:
        """The rendered variants as ``model``'s inputs: B x K x C x H x W."""
        normalised = model.data_preprocessor({'inputs': rendered},
                                             False)['inputs']
        normalised = normalised.reshape(len(images), -1,
                                        *normalised.shape[1:])
        if normalised[:, 0].shape != images.shape or not torch.allclose(
                normalised[:, 0], images, atol=1e-4):
            raise ValueError(
                'the re-rendered scenes differ from the images the test '
                'pipeline loads: interventions need a test pipeline that '
                'neither resizes nor crops (LoadImageFromFile + PackInputs).')
        return normalised[:, 1:]


class MMPretrainBatches:
    """Turns mmpretrain test batches into :class:`Batch` es."""

    def __init__(self, models: Dict[str, nn.Module], reference: str,
                 data_root: str, scenes: Optional[SceneTruth],
                 part_root: Optional[str]):
        self.models, self.reference = models, reference
        self.data_root, self.scenes = data_root, scenes
        self.part_root = part_root
        self.part_locations = (load_part_locations(part_root)
                               if part_root else None)

    def __call__(self, raw: dict) -> Batch:
        samples = raw['data_samples']
        images = self.models[self.reference].data_preprocessor(
            raw, False)['inputs']
        labels = torch.cat([s.gt_label for s in samples]).cpu()
        if self.scenes is None:
            points = None
            if self.part_locations is not None:
                points = [self.part_locations.get(
                    relative_path(self.part_root, s), np.zeros((0, 2))) *
                    np.array(scale_of(s)) for s in samples]
            return Batch(images, labels,
                         [os.path.basename(s.img_path) for s in samples],
                         part_points=points)
        rendered = self.scenes.render_variants(samples)
        return Batch(
            images, labels,
            [relative_path(self.data_root, s) for s in samples],
            truth=self.scenes.truth(samples),
            shortcut=self.scenes.shortcut(samples),
            variants={name: self.scenes.variants(model, rendered, images)
                      for name, model in self.models.items()})


def write_report(out_dir: str, evaluation: Evaluation, rows, tolerance,
                 reference: str,
                 interventions: Optional[InterventionTally] = None) -> str:
    """Write the report files of ``evaluation``; returns the table text."""
    scores, curves, accuracy = evaluation.results()
    averaged = [row.label for row in rows if row.seeds > 1]
    summary_rows = summarize(scores, reference=reference, rates=RATE_METRICS,
                             averaged=averaged)
    checks = validity_checks(scores, rows)
    table = markdown_table(summary_rows, HIGHER) + validity_text(checks)
    if averaged:
        table += (f'\nRows averaged over seeds ({", ".join(averaged)}): the '
                  'per-image value is the mean of the seeds, so their rates '
                  'are fractions with Student-t intervals and Wilcoxon '
                  'tests.\n')
    cascade = evaluation.cascade_results()
    if cascade:
        table += ('\nCascading randomisation (layers re-initialised from '
                  'the output down; mean similarity with the trained '
                  "model's map, lower is better): " + '; '.join(
                      f'{label} ' + ', '.join(
                          f"{s['layers']}/{s['of']} layers (to "
                          f"{s['down_to']}) {s['similarity']:.3f}"
                          for s in steps)
                      for label, steps in cascade.items()) + '.\n')
    draws = evaluation.randomisation_draws()
    if draws:
        table += ('\nRandomisation, the mean of each draw (one re-initialised '
                  'copy each): ' + '; '.join(
                      f'{label} ' + ', '.join(f'{v:.3f}' for v in values)
                      for label, values in draws.items()) + '.\n')
    accuracy_text = ', '.join(f'{name} {value:.3f}'
                              for name, value in accuracy.items())
    table += (f'\nTest accuracy on these {evaluation.done} images: '
              f'{accuracy_text}.\n')
    if interventions is not None:
        table += interventions.markdown()
    os.makedirs(out_dir, exist_ok=True)
    atomic_write_text(os.path.join(out_dir, 'saliency.md'), table)
    atomic_write_text(os.path.join(out_dir, 'saliency.csv'),
                      csv_table(summary_rows))
    atomic_write_text(os.path.join(out_dir, 'per_image.csv'),
                      per_image_csv(scores, evaluation.image_ids))
    summary = dict(
        images=evaluation.done, accuracy=accuracy, reference=reference,
        tolerance_px=tolerance, validity=checks, randomisation_draws=draws,
        cascading_randomisation=cascade,
        interventions=[] if interventions is None else interventions.rows(),
        methods={row.label: dict(model=row.model, method=row.method,
                                 seeds=row.seeds, untrained=row.untrained)
                 for row in rows},
        rows=[row._asdict() for row in summary_rows])
    atomic_write_json(os.path.join(out_dir, 'summary.json'), summary,
                      default=float)
    if curves:
        shortest = min(len(c['deletion']) for c in curves.values())
        plot_mean_curves(curves, os.path.join(out_dir, 'curves.png'),
                         title=f'{shortest} test images')
    return table


def main(argv=None) -> None:
    """Run the benchmark as ``tools/eval_saliency.py`` does."""
    args = parse_args(argv)
    torch.manual_seed(args.seed)
    cfg = test_config(args.config, args.data_root)
    data_root = cfg.test_dataloader.dataset.get('data_root', '')
    has_truth = os.path.isfile(os.path.join(data_root,
                                            synthetic.OBJECTS_FILE))
    has_parts = os.path.isfile(
        os.path.join(data_root, 'parts', 'part_locs.txt'))
    scenes = SceneTruth(data_root) if has_truth else None
    tolerance = args.tolerance
    if tolerance is None:
        tolerance = scenes.config.part_size / 4 if scenes else 15.0
    explained = {args.name: args.methods}
    explained.update({name: args.methods
                      for name, _, _ in args.attention_model})
    if args.cnn_config:
        explained[args.cnn_name] = args.cnn_methods
    controls = (default_controls(has_truth) if args.controls is None
                else args.controls)
    try:
        rows = build_rows(explained, args.name, controls, args.random_seeds,
                          has_truth, args.untrained_draws,
                          args.untrained_methods)
    except ValueError as error:
        raise SystemExit(f'error: {error}') from None
    models = {args.name: load_model(args.config, args.checkpoint,
                                    args.device)}
    for name, config, checkpoint in args.attention_model:
        models[name] = load_model(config, checkpoint, args.device)
    if args.cnn_config:
        models[args.cnn_name] = load_model(args.cnn_config,
                                           args.cnn_checkpoint, args.device)
    method_options: Dict[str, dict] = {}
    for method, key, value in args.method_option:
        method_options.setdefault(method, {})[key] = value
    options = Options(args.max_steps, args.batch_size, args.blur_kernel,
                      tolerance, args.sanity, args.sanity_draws,
                      args.cascade_steps, args.seed, method_options)
    evaluation = Evaluation(models, rows, args.name, options,
                            benchmark_context)
    to_batch = MMPretrainBatches(
        models, args.name, data_root, scenes,
        data_root if has_parts and not has_truth else None)
    loader = test_loader(cfg, args.num_images, args.seed)
    total = len(loader.dataset) if args.num_images is None else min(
        args.num_images, len(loader.dataset))
    subset = perturbation_subset(total, args.perturbation_images)
    expensive = (subset if args.expensive_images is None else
                 perturbation_subset(total, args.expensive_images))
    tally = InterventionTally(scenes.config) if scenes else None
    for raw in test_batches(loader, args.num_images):
        size = len(raw['data_samples'])
        evaluation.run_batch(to_batch(raw),
                             subset[evaluation.done:evaluation.done + size],
                             expensive[evaluation.done:evaluation.done + size])
        if tally is not None:
            with torch.no_grad():
                scenes.count_interventions(tally, models,
                                           raw['data_samples'],
                                           args.batch_size)
    table = write_report(args.out_dir, evaluation, rows, tolerance,
                         args.name, tally)
    print(table)
    print(f'written to {args.out_dir}/saliency.md, saliency.csv, '
          'per_image.csv, summary.json, curves.png')
