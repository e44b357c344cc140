"""Scoring saliency methods on a test set: rows, per-batch scores, validity.

A report compares *rows*: a registered saliency method applied to a model
(the reference model, other attention models, a plain CNN), or a control
map. :class:`Evaluation` scores every row on the same images, batch by
batch, for the class each model predicts:

- the authors' DAUC, IAUC, DC, IC, average drop / increase and sparsity, on
  a subset of the images (:func:`perturbation_subset`; expensive methods,
  hundreds of forward passes per image, on a subset of their own);
- with known evidence (a :class:`~.ground_truth.GroundTruth`): pointing and
  energy on the decisive parts, the coverage of the parts by an attention
  model's maps, and faithfulness by intervention (the rank correlation
  between the map's mass on each object and the drop of the explained
  class's probability when that object is removed), and pointing at the
  object whose removal lowers it most (the model's own evidence, which
  need not be the generator's decisive parts);
- elsewhere, the pointing game on annotated part locations;
- optionally, model-parameter randomisation (the similarity of a method's
  maps on the model and on re-initialised copies of it, several draws), and
  for the reference model's rows its cascading version (layers
  re-initialised from the output down, in steps);
- the untrained network's maps as control rows (the same methods on
  re-initialised copies), beside the model-free controls: the validity
  check fails the benchmark when any control reaches the oracle.

Nothing here knows an ecosystem: the caller hands over normalised images,
the models, the ground truth and the re-rendered scenes; the OpenMMLab
benchmark (:mod:`brnpa_plugins.openmmlab.benchmark`) does that for
mmpretrain models. ``SaliencyMetric`` scores its batches with
:func:`score_maps` too.
"""
import sys
from collections import defaultdict
from typing import (Any, Callable, Dict, List, Mapping, NamedTuple, Optional,
                    Sequence)

import numpy as np
import torch
from torch import Tensor, nn

from . import ground_truth as gt
from .methods import (compute_saliency, cue_detectors, ranked_part_maps,
                      saliency_methods)
from .methods.attention import attention_output
from .perturbation import DEFAULT_MAX_STEPS
from .pointing import pointing_game
from .protocol import HIGHER_IS_BETTER, evaluate_maps
from .scoring import predict

#: Whether a higher value is better, for every metric a report can hold.
HIGHER = dict(HIGHER_IS_BETTER, gt_pointing=True, gt_energy=True,
              gt_coverage=True, gt_faithfulness=True, pointing=True,
              randomisation=False, model_pointing=True,
              shortcut_pointing=True, shortcut_energy=True)
#: Metrics that are 0/1 per image (exact intervals, McNemar tests).
RATE_METRICS = ('gt_pointing', 'pointing', 'avg_increase',
                'model_pointing', 'shortcut_pointing')
#: Metrics on which the oracle must beat the anti-oracle and the model-free
#: map for the benchmark to be valid.
HEADLINE_METRICS = ('gt_pointing', 'gt_energy', 'gt_faithfulness', 'dauc',
                    'iauc')
#: Controls scored when no list is given, and those that need ground truth
#: (besides every registered cue detector).
DEFAULT_CONTROLS = ('random', 'gaussian', 'saturation')
GROUND_TRUTH_CONTROLS = ('oracle', 'oracle-pixels', 'anti-oracle')
#: The ground truth's own maps: ``oracle`` (on the controls' grid) is what
#: every other control must stay below; ``oracle-pixels`` is the ceiling.
ORACLES = ('oracle', 'oracle-pixels')


class Row(NamedTuple):
    """One row of the table: a saliency method applied to a model."""
    label: str
    model: str  # key of the models
    method: str  # a registered saliency method
    seeds: int = 1  # the row is the mean of this many seeds of the method
    #: the method explains re-initialised copies of the model (one per
    #: seed) instead of the model: what the maps show without training
    untrained: bool = False

    @property
    def is_control(self) -> bool:
        """Whether the row is a map every explanation must beat."""
        return self.untrained or saliency_methods()[self.method].control


def default_controls(has_truth: bool) -> List[str]:
    """The controls of a report: the model-free ones and, where the ground
    truth is known (the generated benchmark), every registered cue detector
    (``SaliencyMethod.cue``), the oracles and the anti-oracle."""
    if not has_truth:
        return list(DEFAULT_CONTROLS)
    cues = [name for name in cue_detectors() if name not in DEFAULT_CONTROLS]
    return list(DEFAULT_CONTROLS) + cues + list(GROUND_TRUTH_CONTROLS)


def build_rows(explained: Mapping[str, Sequence[str]],
               reference: str,
               controls: Sequence[str],
               random_seeds: int = 1,
               has_truth: bool = False,
               untrained_draws: int = 0,
               untrained_methods: Optional[Sequence[str]] = None
               ) -> List[Row]:
    """The rows of a report, labelled by the methods' records.

    Args:
        explained: model name -> the methods that explain it, in order; the
            reference model first.
        reference: the model the controls are scored on.
        controls: control methods (their records say ``control=True``).
        random_seeds: how many seeds a seeded control (one whose function
            takes ``seed``, e.g. ``random``) is averaged over.
        has_truth: whether the dataset has ground truth; controls that read
            it are refused without.
        untrained_draws: with k > 0, each method of the reference model is
            also a control row: its maps on k re-initialised copies of the
            model (the untrained network), averaged per image.
        untrained_methods: the reference model's methods that get such a
            row (None: all of them).

    Raises:
        ValueError: a method is unknown, a control is not a control, or a
            control needs ground truth the dataset lacks.
    """
    methods = saliency_methods()
    asked = [m for names in explained.values() for m in names] + \
        list(controls)
    unknown = sorted(set(asked) - set(methods))
    if unknown:
        raise ValueError(f'unknown saliency methods {unknown}; registered '
                         f'(`brnpa plugins`): {sorted(methods)}')
    rows = [Row(methods[name].row_label(model), model, name)
            for model, names in explained.items() for name in names]
    for name in controls:
        method = methods[name]
        if not method.control:
            raise ValueError(
                f'{name!r} is not a control (its record has control=False); '
                'name it among the methods of a model instead.')
        if method.needs_ground_truth and not has_truth:
            raise ValueError(f'control {name!r} needs a dataset with ground '
                             'truth (objects.txt of the generated benchmark)')
        seeds = random_seeds if method.accepts('seed') else 1
        label = method.label + (f' ({seeds} seeds)' if seeds > 1 else '')
        rows.append(Row(label, reference, name, seeds))
    if untrained_methods is not None:
        stray = sorted(set(untrained_methods) - set(explained[reference]))
        if stray:
            raise ValueError(
                f'untrained rows of {stray}: not methods of the reference '
                f'model {reference!r} ({list(explained[reference])})')
    if untrained_draws:
        rows += [Row(f'{row.label} (untrained network, {untrained_draws} '
                     'draws)', reference, row.method, untrained_draws,
                     untrained=True)
                 for row in rows[:len(explained[reference])]
                 if untrained_methods is None
                 or row.method in untrained_methods]
    return rows


def perturbation_subset(total: int, count: Optional[int]) -> np.ndarray:
    """Which of ``total`` images get deletion/insertion: ``count`` of them
    evenly spaced (test lists are often sorted by class), or all."""
    chosen = np.zeros(total, dtype=bool)
    if count is None or count >= total:
        chosen[:] = True
    else:
        chosen[np.linspace(0, total - 1, count).round().astype(int)] = True
    return chosen


class Options(NamedTuple):
    """How maps are scored (see :class:`Evaluation`)."""
    max_steps: int = DEFAULT_MAX_STEPS
    batch_size: int = 64
    blur_kernel: Optional[int] = None
    tolerance: float = 15.0  # pointing radius in input pixels
    sanity: bool = False  # model-parameter randomisation
    #: re-initialised copies the randomisation compares with (mean per image)
    sanity_draws: int = 3
    #: with ``sanity``: steps of the cascading randomisation of the
    #: reference model's rows (0: none)
    cascade_steps: int = 4
    seed: int = 0
    #: method name -> keyword arguments given to it (e.g. RISE's num_masks)
    method_options: Mapping[str, Mapping[str, Any]] = {}


class Batch(NamedTuple):
    """One batch of test images and what is known of them.

    Attributes:
        images: B x C x H x W normalised inputs.
        labels: B true classes.
        image_ids: B names for the per-image table.
        truth: the known evidence, or None.
        variants: model name -> B x K x C x H x W inputs, image b with
            object k removed (for the faithfulness by intervention), or None.
        part_points: without ground truth, per image the K x 2 annotated
            part locations (x, y) in input pixels, or None.
        shortcut: a planted shortcut's region per image, as ground truth
            with one "decisive" box (none where the image has no shortcut),
            or None.
    """
    images: Tensor
    labels: Tensor
    image_ids: List[str]
    truth: Optional[gt.GroundTruth] = None
    variants: Optional[Mapping[str, Tensor]] = None
    part_points: Optional[List[np.ndarray]] = None
    shortcut: Optional[gt.GroundTruth] = None


def score_maps(model: nn.Module, images: Tensor, saliency: Tensor,
               targets: Tensor, options: Options,
               perturb: Optional[Tensor] = None,
               truth: Optional[gt.GroundTruth] = None,
               drops: Optional[Tensor] = None,
               part_points: Optional[List[np.ndarray]] = None,
               shortcut: Optional[gt.GroundTruth] = None):
    """Every per-image score of ``saliency`` (B x h x w) on one batch.

    Args:
        perturb: indices of the images that get the perturbation metrics
            (None: all).
        truth, drops: the known evidence and, per image and object, the
            class probability's drop when the object is removed.
        part_points: annotated part locations, for the pointing game.
        shortcut: a planted shortcut's boxes: does the map reveal it
            (pointing and energy on its region, NaN without one)?

    Returns:
        (metric -> float array[B], NaN where not scored; perturbation curve
        mode -> curves of the perturbed images).
    """
    count = len(images)
    image_size = tuple(images.shape[-2:])
    scores = {name: np.full(count, np.nan) for name in HIGHER_IS_BETTER}
    curves = {}
    if perturb is None:
        perturb = torch.arange(count)
    if len(perturb):
        result = evaluate_maps(model, images[perturb], saliency[perturb],
                               targets[perturb], options.max_steps,
                               options.batch_size, options.blur_kernel)
        index = perturb.numpy()
        for name, values in result.scores.items():
            scores[name][index] = values.numpy()
        curves = {mode: curve.scores.numpy()
                  for mode, curve in result.curves.items()}
    if truth is not None:
        scores['gt_pointing'] = gt.decisive_pointing(
            saliency, truth, image_size, options.tolerance).numpy()
        scores['gt_energy'] = gt.decisive_energy(saliency, truth,
                                                 image_size).numpy()
        if drops is not None:
            mass = gt.object_mass(saliency, truth, image_size)
            scores['gt_faithfulness'] = gt.rank_correlation(
                mass, gt.tie_small_drops(drops)).numpy()
            scores['model_pointing'] = gt.decisive_pointing(
                saliency, gt.model_decisive(truth, drops), image_size,
                options.tolerance).numpy()
    elif part_points is not None:
        scores['pointing'] = pointing_game(saliency.cpu(), part_points,
                                           image_size,
                                           options.tolerance).numpy()
    if shortcut is not None:
        scores['shortcut_pointing'] = gt.decisive_pointing(
            saliency, shortcut, image_size, options.tolerance).numpy()
        scores['shortcut_energy'] = gt.decisive_energy(
            saliency, shortcut, image_size).numpy()
    return scores, curves


def _take(values, rows: Tensor):
    """``values`` restricted to ``rows`` (a GroundTruth, a tensor, a list)."""
    if values is None:
        return None
    if isinstance(values, gt.GroundTruth):
        return gt.GroundTruth(*(v[rows] for v in values))
    if isinstance(values, list):
        return [values[i] for i in rows.tolist()]
    return values[rows]


class Evaluation:
    """Accumulates per-image scores and curves of every row over batches.

    Args:
        models: name -> model (normalised images to logits), in eval mode.
        rows: what to score (:func:`build_rows`).
        reference: the reference model's name (its map grid sets the cell
            size of the control maps).
        options: how to score.
        context_of: model -> the keyword arguments saliency methods may
            take for it (its layers, ``mean``/``std`` of its inputs).
    """

    def __init__(self, models: Mapping[str, nn.Module], rows: Sequence[Row],
                 reference: str, options: Options,
                 context_of: Callable[[nn.Module], Dict[str, Any]]):
        self.models, self.rows, self.reference = models, list(rows), reference
        self.options, self.context_of = options, context_of
        self.methods = saliency_methods()
        self.scores = defaultdict(lambda: defaultdict(list))
        self.curves = defaultdict(lambda: defaultdict(list))
        self.correct = defaultdict(list)
        self.image_ids: List[str] = []
        self.randomised: Dict[tuple, nn.Module] = {}
        #: row label -> per draw, the randomisation scores of each batch
        self.draws = defaultdict(lambda: defaultdict(list))
        #: model name -> its cascading copies (:func:`gt.cascading_copies`)
        self.cascades: Dict[str, list] = {}
        #: row label -> per cascade step, the similarity of each batch
        self.cascade = defaultdict(lambda: defaultdict(list))
        self.done = 0  # images scored so far
        self.stride: Optional[int] = None

    def _stride(self, images: Tensor) -> int:
        """Cell size of the control maps: the reference model's map grid."""
        if self.stride is None:
            main = self.models[self.reference]
            maps = compute_saliency('norm', main, images[:1], None,
                                    **self.context_of(main))
            self.stride = images.shape[-1] // maps.shape[-1]
        return self.stride

    def _context(self, model: nn.Module, method: str, truth,
                 seed: int, images: Tensor) -> Dict[str, Any]:
        return dict(self.context_of(model), batch_size=self.options.batch_size,
                    seed=seed, stride=self._stride(images), ground_truth=truth,
                    **self.options.method_options.get(method, {}))

    def run_batch(self, batch: Batch, subset: np.ndarray,
                  expensive: Optional[np.ndarray] = None) -> None:
        """Score one batch; ``subset`` marks its perturbation images and
        ``expensive`` (default: ``subset``) those an expensive method
        (RISE, Score-CAM) is run on."""
        if expensive is None:
            expensive = subset
        size = len(batch.images)
        targets, drops = {}, {}
        for name, model in self.models.items():
            targets[name] = predict(model, batch.images,
                                    self.options.batch_size).argmax(dim=1)
            self.correct[name].append(
                (targets[name] == batch.labels.cpu()).float().numpy())
            if batch.variants is not None:
                drops[name] = gt.intervention_drops(
                    model, batch.images, batch.variants[name], targets[name],
                    batch.truth.valid, self.options.batch_size)
        for row in self.rows:
            method = self.methods[row.method]
            chosen = np.flatnonzero(expensive) if method.expensive else \
                np.arange(size)
            scores = defaultdict(lambda: np.full(size, np.nan))
            if len(chosen):
                index = torch.from_numpy(chosen)
                perturb = torch.from_numpy(np.flatnonzero(subset[chosen]))
                per_seed = [self._score(row, batch, index, perturb,
                                        targets[row.model][index],
                                        drops.get(row.model),
                                        self.options.seed + seed)
                            for seed in range(row.seeds)]
                for metric in per_seed[0]:
                    scores[metric][chosen] = np.mean(
                        [result[metric] for result in per_seed], axis=0)
            # an expensive method with no perturbation image in the batch
            # still gets the NaN entries of its metrics
            known = list(self.scores[row.label])
            for metric in known + [m for m in scores if m not in known]:
                self.scores[row.label][metric].append(scores[metric])
            print(f'images {self.done + 1}-{self.done + size}: '
                  f'{row.label} done', file=sys.stderr, flush=True)
        self.image_ids += list(batch.image_ids)
        self.done += size

    def _randomised(self, name: str, seed: int) -> nn.Module:
        """The re-initialised copy ``seed`` of model ``name`` (cached)."""
        key = (name, seed)
        if key not in self.randomised:
            self.randomised[key] = gt.randomised_copy(self.models[name], seed)
        return self.randomised[key]

    def _score(self, row: Row, batch: Batch, index: Tensor, perturb: Tensor,
               targets: Tensor, drops: Optional[Tensor], seed: int):
        scored = self.models[row.model]  # the model the maps are scored on
        explained = (self._randomised(row.model, seed) if row.untrained
                     else scored)
        method = self.methods[row.method]
        images = batch.images[index]
        truth = _take(batch.truth, index)
        context = self._context(explained, row.method, truth, seed, images)
        saliency = compute_saliency(row.method, explained, images, targets,
                                    **context)
        scores, curves = score_maps(
            scored, images, saliency, targets, self.options, perturb, truth,
            _take(drops, index), _take(batch.part_points, index),
            _take(batch.shortcut, index))
        if seed == self.options.seed:
            for mode, values in curves.items():
                self.curves[row.label][mode].append(values)
        if truth is not None and method.attention:
            maps = ranked_part_maps(attention_output(
                explained, images, context.get('attention_layer')))
            if maps.shape[1] > 1:
                scores['gt_coverage'] = gt.part_coverage(
                    maps, truth, tuple(images.shape[-2:])).numpy()
        if self.options.sanity and not row.is_control and \
                seed == self.options.seed:

            def similarity(randomised: nn.Module) -> np.ndarray:
                # the same method on a re-initialised copy, per image
                other = compute_saliency(
                    row.method, randomised, images, targets,
                    **dict(context, **self.context_of(randomised)))
                return gt.map_similarity(saliency, other).numpy()

            draws = []
            for draw in range(self.options.sanity_draws):
                draws.append(similarity(self._randomised(
                    row.model, self.options.seed + draw)))
                self.draws[row.label][draw].append(draws[-1])
            scores['randomisation'] = np.mean(draws, axis=0)
            if row.model == self.reference and self.options.cascade_steps:
                for step, (_, _, randomised) in enumerate(
                        self._cascading(row.model)):
                    self.cascade[row.label][step].append(
                        similarity(randomised))
        return scores

    def _cascading(self, name: str) -> list:
        if name not in self.cascades:
            self.cascades[name] = gt.cascading_copies(
                self.models[name], self.options.cascade_steps,
                self.options.seed)
        return self.cascades[name]

    def cascade_results(self) -> Dict[str, List[dict]]:
        """Row label -> per cascade step (layers re-initialised from the
        output down): the lowest re-initialised layer, how many of how many
        layers, and the mean similarity of the maps with the trained
        model's (it should fall as more layers are re-initialised)."""
        results = {}
        for label, steps in self.cascade.items():
            model = next(r.model for r in self.rows if r.label == label)
            total = self.cascades[model][-1][1]  # the last copy has all
            results[label] = [
                dict(down_to=layer, layers=count, of=total,
                     similarity=float(np.nanmean(np.concatenate(
                         steps[step]))))
                for step, (layer, count, _) in enumerate(
                    self.cascades[model])]
        return results

    def results(self):
        """(row label -> metric -> per-image values, row label -> mode ->
        curves, model name -> accuracy on the images scored)."""
        scores = {label: {name: np.concatenate(v) for name, v in m.items()}
                  for label, m in self.scores.items()}
        curves = {label: {mode: np.concatenate(v) for mode, v in m.items()}
                  for label, m in self.curves.items()}
        accuracy = {name: float(np.concatenate(v).mean())
                    for name, v in self.correct.items()}
        return scores, curves, accuracy

    def randomisation_draws(self) -> Dict[str, List[float]]:
        """Row label -> the mean randomisation score of each draw (one
        re-initialised copy each): their spread says how much one draw
        decides."""
        return {label: [float(np.nanmean(np.concatenate(values)))
                        for _, values in sorted(draws.items())]
                for label, draws in self.draws.items()}


def validity_checks(scores, rows: Sequence[Row]) -> List[dict]:
    """Does the oracle beat every other control on every headline metric?

    The other controls are the anti-oracle, the maps that use no model
    (random, Gaussian, colour saturation, the detectors of the benchmark's
    cues, any control a plugin registers) and the untrained network's maps.
    When one of them reaches the oracle on a metric, that metric cannot
    tell an explanation of the model from a map that does not need it: the
    benchmark fails. The oracle is the one on the controls' grid (the best
    map they could be), not the full-resolution ceiling.
    """
    oracle = next((row.label for row in rows if row.method == 'oracle'
                   and not row.untrained), None)
    if oracle is None:
        return []
    checks = []
    for row in rows:
        if not row.is_control or row.method in ORACLES:
            continue
        for metric in HEADLINE_METRICS:
            if metric not in scores[oracle] or metric not in scores[
                    row.label]:
                continue
            a = float(np.nanmean(scores[oracle][metric]))
            b = float(np.nanmean(scores[row.label][metric]))
            better = a > b if HIGHER[metric] else a < b
            checks.append(dict(metric=metric, control=row.label,
                               oracle=a, other=b, passed=bool(better)))
    return checks


def invalid_metrics(checks: List[dict]) -> List[str]:
    """The headline metrics on which some control reaches the oracle: on
    this benchmark they cannot tell an explanation from a control."""
    return list(dict.fromkeys(c['metric'] for c in checks
                              if not c['passed']))


def validity_text(checks: List[dict]) -> str:
    """The validity checks as markdown lines ('' when there are none)."""
    if not checks:
        return ''
    failed = [c for c in checks if not c['passed']]
    lines = ['', 'Benchmark validity (the oracle must beat every other '
             'control, model-free or untrained, on every headline metric): '
             + ('PASSED' if not failed else
                f'FAILED on {len(failed)} of {len(checks)} checks; not '
                'valid on ' + ', '.join(invalid_metrics(checks))) + '.', '']
    for c in checks:
        mark = 'ok' if c['passed'] else 'FAILED'
        lines.append(f'- {c["metric"]}: oracle {c["oracle"]:.3f} vs '
                     f'{c["control"]} {c["other"]:.3f} ({mark})')
    return '\n'.join(lines) + '\n'
