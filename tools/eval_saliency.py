"""Compare saliency maps on a test set: faithfulness, ground truth, controls.

    python tools/eval_saliency.py CONFIG CHECKPOINT [--name BR-NPA]
        [--methods attention norm ...] [--controls random gaussian ...]
        [--cnn-config CONFIG --cnn-checkpoint CKPT --cnn-methods gradcam ...]
        [--attention-model NAME CONFIG CHECKPOINT] ...
        [--num-images N] [--perturbation-images P] [--max-steps 196]
        [--random-seeds 10] [--rise-masks 4000] [--sanity]
        [--batch-size 64] [--out-dir DIR] [--device cpu]

The model of CONFIG / CHECKPOINT (the reference row) and each
``--attention-model`` are explained by ``--methods``; the control maps
(``--controls``: uniform random over ``--random-seeds`` seeds, a centred
Gaussian, the model-free colour saturation and, on a dataset with ground
truth, the oracle and anti-oracle) are scored on the reference model;
post-hoc methods explain the plain CNN of ``--cnn-config``. Every saliency
method registered through the plugin hook can be named. Every row is scored
on the same test images, for the class its model predicts:

- the authors' DAUC, IAUC, DC, IC, average drop / increase and sparsity, on
  ``--perturbation-images`` images evenly spaced in the test list (all by
  default);
- on the generated benchmark (``objects.txt`` in the data root):
  ``gt_pointing`` (peak on a decisive part, ``--tolerance`` pixels around its
  box), ``gt_energy`` (map mass on decisive parts), ``gt_coverage`` (for an
  attention model's N maps: different maps on different decisive parts) and
  ``gt_faithfulness`` (per image, the Spearman correlation between the map's
  mass on each object and the drop of the explained class's probability
  when the object is removed from the scene and the image re-rendered);
- elsewhere, the pointing game on ``parts/part_locs.txt`` (``pointing``);
- with ``--sanity``, ``randomisation`` (Spearman correlation between the
  maps of the model and of the same model with re-initialised weights; a map
  that explains the model changes, lower is better).

Methods listed in ``--expensive`` (default: rise, scorecam, ablationcam) run
on the perturbation images only. Writes to ``--out-dir``: ``saliency.md``
(means, 95% intervals: Student t for means, exact Clopper-Pearson for rates;
paired Wilcoxon / exact McNemar tests against the reference row,
Holm-corrected; the benchmark's validity checks), ``saliency.csv`` (the
summary), ``per_image.csv`` (every score of every image), ``summary.json``
and ``curves.png`` (mean deletion and insertion curves).
"""
import argparse
import os
import sys
from collections import defaultdict
from typing import Dict, Iterator, List, NamedTuple, Optional

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
from brnpa_plugins.core import (atomic_write_json,  # noqa: E402
                                atomic_write_text)
from brnpa_plugins.core.capture import layer_output  # noqa: E402
from brnpa_plugins.core.checks import check_positive_options  # noqa: E402
from brnpa_plugins.core.maps import rank_by_activity  # noqa: E402
from brnpa_plugins.data import load_part_locations  # noqa: E402
from brnpa_plugins.data import synthetic  # noqa: E402
from brnpa_plugins.evaluation import (  # noqa: E402
    DEFAULT_MAX_STEPS, HIGHER_IS_BETTER, compute_saliency, evaluate_maps,
    pointing_game, predict)
from brnpa_plugins.evaluation import ground_truth as gt  # noqa: E402
from brnpa_plugins.evaluation.report import (  # noqa: E402
    csv_table, markdown_table, per_image_csv, plot_mean_curves, summarize)
from brnpa_plugins.openmmlab.saliency_metric import \
    saliency_context  # noqa: E402
from brnpa_plugins.evaluation import saliency_methods  # noqa: E402

LABELS = {
    'attention': '', 'attention-all': ' (all maps)', 'brnpa': '',
    'gradcam': ' Grad-CAM', 'gradcam++': ' Grad-CAM++',
    'scorecam': ' Score-CAM', 'ablationcam': ' Ablation-CAM',
    'rise': ' RISE', 'norm': ' norm map',
}
CONTROL_LABELS = {
    'random': 'uniform random', 'gaussian': 'centred Gaussian',
    'saturation': 'colour saturation (no model)', 'oracle': 'oracle',
    'anti-oracle': 'anti-oracle',
}
GROUND_TRUTH_CONTROLS = ('oracle', 'anti-oracle')
#: Metrics on which the oracle must beat the anti-oracle and the model-free
#: map for the benchmark to be valid.
HEADLINE_METRICS = ('gt_pointing', 'gt_energy', 'gt_faithfulness', 'dauc',
                    'iauc')
#: Metrics that are 0/1 per image (exact intervals, McNemar tests).
RATE_METRICS = ('gt_pointing', 'pointing', 'avg_increase')
HIGHER = dict(HIGHER_IS_BETTER, gt_pointing=True, gt_energy=True,
              gt_coverage=True, gt_faithfulness=True, pointing=True,
              randomisation=False)


class Explainer(NamedTuple):
    """One row of the table: a saliency method applied to a model."""
    label: str
    model: str  # key of the loaded models
    method: str
    seeds: int = 1  # the row is the mean of this many seeds of the method


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
    parser.add_argument(
        '--controls', nargs='*', default=None,
        help='control maps scored on the main model (default: random '
        'gaussian saturation, plus oracle anti-oracle on ground truth)')
    parser.add_argument('--cnn-config', help='config of the plain CNN')
    parser.add_argument('--cnn-checkpoint', help='checkpoint of the CNN')
    parser.add_argument(
        '--cnn-methods', nargs='+',
        default=['norm', 'gradcam', 'gradcam++', 'scorecam', 'ablationcam',
                 'rise'], help='post-hoc methods applied to the CNN')
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
    parser.add_argument('--expensive', nargs='*',
                        default=['rise', 'scorecam', 'ablationcam'],
                        help='methods run on the perturbation images only')
    parser.add_argument('--max-steps', type=int, default=DEFAULT_MAX_STEPS)
    parser.add_argument('--batch-size', type=int, default=64,
                        help='most perturbed images per forward pass')
    parser.add_argument('--blur-kernel', type=int, default=None,
                        help='side of the insertion blur (default: '
                        'max(H // 5, 9), odd)')
    parser.add_argument('--rise-masks', type=int, default=4000)
    parser.add_argument('--random-seeds', type=int, default=10,
                        help='seeds the uniform-random row averages over')
    parser.add_argument('--sanity', action='store_true',
                        help='model-parameter randomisation check')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the image subset, RISE and the '
                        'randomised weights')
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
                                          'random_seeds'))
    known = saliency_methods()
    methods = args.methods + (args.cnn_methods if args.cnn_config else []) \
        + (args.controls or [])
    unknown = sorted(set(methods) - set(known))
    if unknown:
        parser.error(f'unknown saliency methods {unknown}; registered '
                     f'(`brnpa plugins`): {sorted(known)}')
    return args


def load_model(config: str, checkpoint: str, device: str) -> nn.Module:
    from mmpretrain.apis import get_model
    return get_model(config, pretrained=checkpoint, device=device).eval()


def build_explainers(args, has_truth: bool) -> List[Explainer]:
    names = [args.name] + [name for name, _, _ in args.attention_model]
    rows = [Explainer(name + LABELS.get(method, f' {method}'), name, method)
            for name in names for method in args.methods]
    controls = args.controls
    if controls is None:
        controls = ['random', 'gaussian', 'saturation']
        controls += list(GROUND_TRUTH_CONTROLS) if has_truth else []
    for method in controls:
        if method in GROUND_TRUTH_CONTROLS and not has_truth:
            raise SystemExit(f'--controls {method} needs a dataset with '
                             f'ground truth ({synthetic.OBJECTS_FILE})')
        label = CONTROL_LABELS.get(method, method)
        seeds = args.random_seeds if method == 'random' else 1
        if seeds > 1:
            label += f' ({seeds} seeds)'
        rows.append(Explainer(label, args.name, method, seeds))
    if args.cnn_config:
        rows += [Explainer(args.cnn_name + LABELS.get(m, f' {m}'),
                           args.cnn_name, m) for m in args.cnn_methods]
    return rows


def test_config(config: str, data_root: Optional[str]) -> Config:
    """CONFIG, its test set moved to ``data_root`` when one is given."""
    cfg = Config.fromfile(config)
    if data_root is not None:
        dataset = cfg.test_dataloader.dataset
        classes = dataset.get('classes')
        if isinstance(classes, str) and classes.endswith(
                synthetic.CLASS_NAMES_FILE):
            dataset.classes = os.path.join(data_root,
                                           synthetic.CLASS_NAMES_FILE)
        dataset.data_root = data_root
    return cfg


def test_loader(cfg: Config, num_images: Optional[int], seed: int):
    loader_cfg = dict(cfg.test_dataloader)
    loader_cfg.update(num_workers=0, persistent_workers=False)
    if num_images is not None:
        # A seeded random subset: the test list is often sorted by class.
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
    images_root = os.path.join(data_root, 'images')
    return os.path.relpath(sample.img_path, images_root).replace(os.sep, '/')


def scale_of(sample) -> tuple:
    """(x, y) factors from file pixels to the model's input pixels."""
    return (sample.img_shape[1] / sample.ori_shape[1],
            sample.img_shape[0] / sample.ori_shape[0])


class Benchmark:
    """The dataset's ground truth: boxes, and scenes to re-render."""

    def __init__(self, data_root: str):
        self.data_root = data_root
        self.config = synthetic.load_config(data_root)
        self.objects = synthetic.load_objects(data_root)
        self.scenes = synthetic.load_scenes(data_root)

    def truth(self, samples) -> gt.GroundTruth:
        return gt.GroundTruth.from_objects(
            [self.objects[relative_path(self.data_root, s)]
             for s in samples], [scale_of(s) for s in samples])

    def render_variants(self, samples) -> List[torch.Tensor]:
        """Each image re-rendered, then once with each object removed:
        B x (K + 1) uint8 C x H x W tensors in mmpretrain's BGR order."""
        scenes = [self.scenes[relative_path(self.data_root, s)]
                  for s in samples]
        count = max(len(s.objects) for s in scenes)
        rendered = []
        for scene in scenes:
            versions = [scene] + [synthetic.intervene(scene, k)
                                  for k in range(len(scene.objects))]
            versions += [versions[0]] * (count + 1 - len(versions))
            rendered += [synthetic.render_scene(v, self.config)
                         for v in versions]
        # mmpretrain loads BGR and its preprocessor converts to RGB.
        return [torch.from_numpy(np.ascontiguousarray(
            image[..., ::-1].transpose(2, 0, 1))) for image in rendered]

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


def attention_maps(model: nn.Module, images: torch.Tensor):
    """The N maps of the model's attention neck, most active first."""
    neck = getattr(model, 'neck', None)
    if neck is None:
        return None
    out = layer_output(model, neck, images)
    if not hasattr(out, 'attention') or out.attention.shape[1] < 2:
        return None
    attention = out.attention.float()
    if hasattr(out, 'activity'):
        attention = rank_by_activity(attention, out.activity)
    return attention * out.norm.float()[:, None]


def method_context(args, model, method: str, truth, seed: int, stride: int):
    """The keyword arguments saliency methods may take."""
    preprocessor = model.data_preprocessor
    context = dict(batch_size=args.batch_size, seed=seed, stride=stride,
                   ground_truth=truth,
                   mean=preprocessor.mean.flatten().tolist(),
                   std=preprocessor.std.flatten().tolist())
    if method == 'rise':
        context['num_masks'] = args.rise_masks
    return context


class Chosen(NamedTuple):
    """The images of a batch one row scores, with what is known of them."""
    images: torch.Tensor
    targets: torch.Tensor
    truth: Optional[gt.GroundTruth]
    drops: Optional[torch.Tensor]  # images x objects
    samples: list
    perturb: np.ndarray  # positions among them of perturbation images


def perturbation_subset(total: int, count: Optional[int]) -> np.ndarray:
    """Which of ``total`` images get deletion/insertion: ``count`` of them
    evenly spaced (test lists are often sorted by class), or all."""
    chosen = np.zeros(total, dtype=bool)
    if count is None or count >= total:
        chosen[:] = True
    else:
        chosen[np.linspace(0, total - 1, count).round().astype(int)] = True
    return chosen


class Evaluation:
    """Accumulates per-image scores and curves over the test batches."""

    def __init__(self, args, models: Dict[str, nn.Module],
                 explainers: List[Explainer], benchmark: Optional[Benchmark],
                 part_root: Optional[str], tolerance: float):
        self.args, self.models, self.explainers = args, models, explainers
        self.benchmark, self.part_root = benchmark, part_root
        self.tolerance = tolerance
        self.part_locations = (load_part_locations(part_root)
                               if part_root else None)
        self.scores = defaultdict(lambda: defaultdict(list))
        self.curves = defaultdict(lambda: defaultdict(list))
        self.correct = defaultdict(list)
        self.image_ids: List[str] = []
        self.randomised: Dict[str, nn.Module] = {}
        self.done = 0  # images scored so far
        self.stride: Optional[int] = None

    def _stride(self, images):
        """Cell size of the control maps: the reference model's map grid."""
        if self.stride is None:
            main = self.models[self.args.name]
            maps = compute_saliency('norm', main, images[:1], None,
                                    **saliency_context(main))
            self.stride = images.shape[-1] // maps.shape[-1]
        return self.stride

    def run_batch(self, batch: dict, subset: np.ndarray) -> None:
        """Score one batch; ``subset`` marks its perturbation images."""
        args = self.args
        samples = batch['data_samples']
        size = len(samples)
        images = self.models[args.name].data_preprocessor(batch,
                                                          False)['inputs']
        truth = self.benchmark.truth(samples) if self.benchmark else None
        rendered = (self.benchmark.render_variants(samples)
                    if self.benchmark else None)
        drops, targets = {}, {}
        for name, model in self.models.items():
            targets[name] = predict(model, images,
                                    args.batch_size).argmax(dim=1)
            labels = torch.cat([s.gt_label for s in samples]).cpu()
            self.correct[name].append(
                (targets[name] == labels).float().numpy())
            if self.benchmark:
                variants = self.benchmark.variants(model, rendered, images)
                drops[name] = gt.intervention_drops(
                    model, images, variants, targets[name], truth.valid,
                    args.batch_size)
        for explainer in self.explainers:
            rows = np.flatnonzero(subset) if explainer.method in \
                args.expensive else np.arange(size)
            scores = defaultdict(lambda: np.full(size, np.nan))
            if len(rows):
                index = torch.from_numpy(rows)
                chosen = Chosen(
                    images[index], targets[explainer.model][index],
                    None if truth is None else gt.GroundTruth(
                        *(t[index] for t in truth)),
                    drops[explainer.model][index] if drops else None,
                    [samples[i] for i in rows], np.flatnonzero(subset[rows]))
                seeds = [self._score(explainer, chosen, args.seed + seed)
                         for seed in range(explainer.seeds)]
                for metric in seeds[0]:
                    scores[metric][rows] = np.mean(
                        [result[metric] for result in seeds], axis=0)
            # an expensive method with no perturbation image in the batch
            # still gets the NaN entries of its metrics
            known = list(self.scores[explainer.label])
            for metric in known + [m for m in scores if m not in known]:
                self.scores[explainer.label][metric].append(scores[metric])
            print(f'images {self.done + 1}-{self.done + size}: '
                  f'{explainer.label} done', file=sys.stderr, flush=True)
        if self.benchmark:
            self.image_ids += [relative_path(self.benchmark.data_root, s)
                               for s in samples]
        else:
            self.image_ids += [os.path.basename(s.img_path) for s in samples]
        self.done += size

    def _score(self, explainer: Explainer, chosen: 'Chosen', seed: int):
        args = self.args
        model = self.models[explainer.model]
        images, targets, truth = chosen.images, chosen.targets, chosen.truth
        image_size = tuple(images.shape[-2:])
        count = len(images)
        context = method_context(args, model, explainer.method, truth, seed,
                                 self._stride(images))
        saliency = compute_saliency(explainer.method, model, images, targets,
                                    **saliency_context(model), **context)
        scores = {name: np.full(count, np.nan) for name in HIGHER_IS_BETTER}
        perturb = torch.from_numpy(chosen.perturb)
        if len(perturb):
            result = evaluate_maps(model, images[perturb], saliency[perturb],
                                   targets[perturb], args.max_steps,
                                   args.batch_size, args.blur_kernel)
            for name, values in result.scores.items():
                scores[name][chosen.perturb] = values.numpy()
            if seed == args.seed:
                for mode, curve in result.curves.items():
                    self.curves[explainer.label][mode].append(
                        curve.scores.numpy())
        if truth is not None:
            scores['gt_pointing'] = gt.decisive_pointing(
                saliency, truth, image_size, self.tolerance).numpy()
            scores['gt_energy'] = gt.decisive_energy(
                saliency, truth, image_size).numpy()
            mass = gt.object_mass(saliency, truth, image_size)
            scores['gt_faithfulness'] = gt.rank_correlation(
                mass, chosen.drops).numpy()
            if explainer.method in ('attention', 'attention-all', 'brnpa'):
                maps = attention_maps(model, images)
                if maps is not None:
                    scores['gt_coverage'] = gt.part_coverage(
                        maps, truth, image_size).numpy()
        elif self.part_locations is not None:
            points = [self.part_locations.get(
                relative_path(self.part_root, s), np.zeros((0, 2))) *
                np.array(scale_of(s)) for s in chosen.samples]
            scores['pointing'] = pointing_game(
                saliency.cpu(), points, image_size, self.tolerance).numpy()
        if args.sanity and explainer.method not in CONTROL_LABELS:
            if explainer.model not in self.randomised:
                self.randomised[explainer.model] = gt.randomised_copy(
                    model, args.seed)
            randomised = self.randomised[explainer.model]
            other = compute_saliency(explainer.method, randomised, images,
                                     targets, **saliency_context(randomised),
                                     **context)
            scores['randomisation'] = gt.map_similarity(saliency,
                                                         other).numpy()
        return scores

    def results(self):
        scores = {label: {name: np.concatenate(v) for name, v in m.items()}
                  for label, m in self.scores.items()}
        curves = {label: {mode: np.concatenate(v) for mode, v in m.items()}
                  for label, m in self.curves.items()}
        accuracy = {name: float(np.concatenate(v).mean())
                    for name, v in self.correct.items()}
        return scores, curves, accuracy


def validity_checks(scores, explainers: List[Explainer]) -> List[dict]:
    """Does the oracle beat the anti-oracle and the model-free map?"""
    labels = {e.method: e.label for e in explainers if e.seeds == 1}
    oracle = labels.get('oracle')
    if oracle is None:
        return []
    checks = []
    for other in ('anti-oracle', 'saturation'):
        if other not in labels:
            continue
        for metric in HEADLINE_METRICS:
            if metric not in scores[oracle] or metric not in scores[
                    labels[other]]:
                continue
            a = float(np.nanmean(scores[oracle][metric]))
            b = float(np.nanmean(scores[labels[other]][metric]))
            better = a > b if HIGHER[metric] else a < b
            checks.append(dict(metric=metric, control=labels[other],
                               oracle=a, other=b, passed=bool(better)))
    return checks


def validity_text(checks: List[dict]) -> str:
    if not checks:
        return ''
    failed = [c for c in checks if not c['passed']]
    lines = ['', 'Benchmark validity (the oracle must beat the anti-oracle '
             'and the model-free map on every headline metric): '
             + ('PASSED' if not failed else 'FAILED') + '.', '']
    for c in checks:
        mark = 'ok' if c['passed'] else 'FAILED'
        lines.append(f'- {c["metric"]}: oracle {c["oracle"]:.3f} vs '
                     f'{c["control"]} {c["other"]:.3f} ({mark})')
    return '\n'.join(lines) + '\n'


def main(argv=None):
    args = parse_args(argv)
    torch.manual_seed(args.seed)
    cfg = test_config(args.config, args.data_root)
    data_root = cfg.test_dataloader.dataset.get('data_root', '')
    has_truth = os.path.isfile(os.path.join(data_root,
                                            synthetic.OBJECTS_FILE))
    has_parts = os.path.isfile(
        os.path.join(data_root, 'parts', 'part_locs.txt'))
    benchmark = Benchmark(data_root) if has_truth else None
    tolerance = args.tolerance
    if tolerance is None:
        tolerance = benchmark.config.part_size / 4 if benchmark else 15.0
    explainers = build_explainers(args, has_truth)
    models = {args.name: load_model(args.config, args.checkpoint,
                                    args.device)}
    for name, config, checkpoint in args.attention_model:
        models[name] = load_model(config, checkpoint, args.device)
    if args.cnn_config:
        models[args.cnn_name] = load_model(args.cnn_config,
                                           args.cnn_checkpoint, args.device)
    evaluation = Evaluation(args, models, explainers, benchmark,
                            data_root if has_parts and not has_truth else None,
                            tolerance)
    loader = test_loader(cfg, args.num_images, args.seed)
    total = len(loader.dataset) if args.num_images is None else min(
        args.num_images, len(loader.dataset))
    subset = perturbation_subset(total, args.perturbation_images)
    for batch in test_batches(loader, args.num_images):
        size = len(batch['data_samples'])
        evaluation.run_batch(batch, subset[evaluation.done:
                                           evaluation.done + size])
    scores, curves, accuracy = evaluation.results()
    reference = explainers[0].label
    averaged = [e.label for e in explainers if e.seeds > 1]
    rows = summarize(scores, reference=reference, rates=RATE_METRICS,
                     averaged=averaged)
    checks = validity_checks(scores, explainers)
    table = markdown_table(rows, HIGHER) + validity_text(checks)
    if averaged:
        table += (f'\nRows averaged over seeds ({", ".join(averaged)}): the '
                  'per-image value is the mean of the seeds, so their rates '
                  'are fractions with Student-t intervals and Wilcoxon '
                  'tests.\n')
    accuracy_text = ', '.join(f'{name} {value:.3f}'
                              for name, value in accuracy.items())
    table += (f'\nTest accuracy on these {evaluation.done} images: '
              f'{accuracy_text}.\n')
    os.makedirs(args.out_dir, exist_ok=True)
    atomic_write_text(os.path.join(args.out_dir, 'saliency.md'), table)
    atomic_write_text(os.path.join(args.out_dir, 'saliency.csv'),
                      csv_table(rows))
    atomic_write_text(os.path.join(args.out_dir, 'per_image.csv'),
                      per_image_csv(scores, evaluation.image_ids))
    summary = dict(
        images=evaluation.done, accuracy=accuracy, reference=reference,
        tolerance_px=tolerance, validity=checks,
        methods={e.label: dict(model=e.model, method=e.method,
                               seeds=e.seeds) for e in explainers},
        rows=[row._asdict() for row in rows])
    atomic_write_json(os.path.join(args.out_dir, 'summary.json'), summary,
                      default=float)
    if curves:
        plot_mean_curves(curves, os.path.join(args.out_dir, 'curves.png'),
                         title=f'{min(len(c["deletion"]) for c in curves.values())}'
                         ' test images')
    print(table)
    print(f'written to {args.out_dir}/saliency.md, saliency.csv, '
          'per_image.csv, summary.json, curves.png')


if __name__ == '__main__':
    sys.exit(main())
