"""What the explorer computes, without any user interface.

An :class:`Explorer` holds one BR-NPA model of mmpretrain (a zoo entry, or a
config and a checkpoint: :func:`load_model`) and turns what a person picks
into what the page shows (:class:`View`):

- an image (an upload, :func:`decode_image`) or a sample of the embedded
  benchmark (:func:`benchmark_samples`: scenes of
  :mod:`brnpa_plugins.data.synthetic`, rendered in memory, with their
  decisive parts and distractors known);
- its explanation (:func:`explain`): the top-5 prediction, the N part maps
  ranked by activity on one colour scale with a colour bar, the overlay, and
  each part's exact contribution to the predicted class's logit (from
  :class:`~brnpa_plugins.openmmlab.BRNPAInferencer`);
- any registered saliency method beside it (:func:`method_map`: Grad-CAM,
  RISE, ...; the one registry of
  :mod:`brnpa_plugins.evaluation.methods`), with progress and a way to stop
  it between two forward passes;
- interventions: on a sample, an object removed or demoted and the scene
  re-rendered by the benchmark's own renderer; on an upload, a box blurred
  or greyed (:func:`occlude`). The model runs again on the result, and on
  samples the ground-truth outlines and the per-image pointing and energy
  of :mod:`brnpa_plugins.evaluation.ground_truth` are shown.

Errors a person can act on (an image that cannot be decoded, a model
without weights, a config that does not build) are :class:`ExplorerError`
and the page shows their message.
"""
import io
import math
import os
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from PIL import Image, ImageFilter, UnidentifiedImageError
from torch import Tensor, nn

from ..core import draw_outlines, min_max_normalize, render_ranked_maps
from ..data import synthetic
from ..evaluation import ground_truth as gt
from ..evaluation.methods import get_saliency_method, saliency_methods

#: The zoo entry the explorer opens with no model given.
DEMO_MODEL = 'brnpa_resnet18-w16_1xb32_synthetic-parts'
#: The benchmark the samples come from: the one the demo model learnt.
BENCHMARK = synthetic.SyntheticPartsConfig()
#: Pointing radius in pixels: a quarter of a part, as the benchmark reports.
TOLERANCE = BENCHMARK.part_size / 4
#: Uploads are shrunk to at most this side first, so that a photo costs a
#: CPU what a benchmark image costs it, within a few times.
MAX_UPLOAD_SIDE = 512
#: Displayed scenes are upscaled (nearest) to at least this side.
DISPLAY_SIDE = 288
#: RISE's masks in the explorer (the benchmark uses thousands).
RISE_MASKS = 300
#: Forward passes per batch of the methods that run many (RISE, Score-CAM).
METHOD_BATCH = 50
ACTIONS = ('remove', 'demote')
OCCLUSIONS = ('blur', 'grey')


class ExplorerError(Exception):
    """A problem the page reports as it is: the message says what to do."""


class Cancelled(ExplorerError):
    """The person stopped a method while it ran."""


@dataclass
class LoadedModel:
    """A BR-NPA model ready to explain images.

    Attributes:
        name: how the page names it (zoo name or config file).
        model: the mmpretrain ``ImageClassifier``, in eval mode.
        inferencer: the :class:`BRNPAInferencer` around ``model``.
        classes: one name per class.
        trained: False for a model without trained weights.
        note: what the page says about the model ('' when nothing needs
            saying): the untrained warning, where its weights come from.
        context: what saliency methods may read (layers, normalisation).
    """
    name: str
    model: nn.Module
    inferencer: object
    classes: List[str]
    trained: bool
    note: str
    context: dict


def zoo_models() -> List[str]:
    """Zoo entries with a config and published weights, plugins' too."""
    from ..zoo import zoo_entries
    return sorted(name for name, entry in zoo_entries().items()
                  if entry.weights and entry.config)


def _build(config: str, checkpoint: Optional[str], device: str) -> nn.Module:
    import brnpa_plugins.openmmlab  # noqa: F401  (registers BR-NPA)
    from mmpretrain.apis import get_model
    try:
        return get_model(config, pretrained=checkpoint or False,
                         device=device).eval()
    except Exception as error:  # noqa: BLE001  (any failure is reported)
        what = f'{config} with {checkpoint}' if checkpoint else config
        raise ExplorerError(
            f'could not build a model from {what}: {type(error).__name__}: '
            f'{error}') from error


def _class_names(model: nn.Module) -> List[str]:
    count = model.head.num_classes
    names = list(getattr(model, '_dataset_meta', {}).get('classes') or ())
    if len(names) == count:
        return names
    if count == BENCHMARK.num_classes:
        return synthetic.class_names(BENCHMARK)
    return [f'class {k}' for k in range(count)]


def load_model(source: Optional[str] = None,
               checkpoint: Optional[str] = None,
               device: str = 'cpu', untrained: bool = False) -> LoadedModel:
    """Build a BR-NPA model of mmpretrain for the explorer.

    Args:
        source: a zoo name, or a config file; None: the demo model
            (:data:`DEMO_MODEL`), untrained and labelled so when its
            checkpoint is missing.
        checkpoint: the weights; defaults to the zoo entry's. A config
            needs one unless ``untrained``.
        device: where the model runs.
        untrained: build without weights (the page says so).

    Raises:
        ExplorerError: unknown name, a model without weights, a config
            that does not build, a model that is not BR-NPA.
    """
    from ..zoo import (DownloadError, NoCheckpointError, UnknownNameError,
                       get_entry, resolve_checkpoint)
    note = ''
    demo, given = source is None, checkpoint is not None
    name = DEMO_MODEL if demo else os.fspath(source)
    if name.endswith('.py') or os.path.isfile(name):
        config = name
        if not (checkpoint or untrained):
            raise ExplorerError(
                f'{name} is a config without weights: give its checkpoint '
                '(--checkpoint PATH, or the checkpoint field).')
    else:
        try:
            entry = get_entry(name)
        except UnknownNameError as error:
            raise ExplorerError(str(error).strip('"')) from None
        config = entry.config
        if checkpoint is None and not untrained:
            try:
                checkpoint = str(resolve_checkpoint(name, progress=False))
            except (NoCheckpointError, DownloadError,
                    FileNotFoundError) as error:
                if not demo:
                    raise ExplorerError(str(error)) from None
                untrained = True
                note = (f'No trained checkpoint of the demo model was found '
                        f'({error}). This is the UNTRAINED {name}: its '
                        'predictions and maps mean nothing. `make demo` '
                        'trains one: `brnpa explore '
                        f'{entry.config} --checkpoint '
                        'outputs/demo/seed_0/brnpa/epoch_N.pth` (its last '
                        'epoch).')
    if untrained:
        checkpoint = None
        note = note or (f'UNTRAINED {name}: random weights, so its '
                        'predictions and maps mean nothing.')
    model = _build(config, checkpoint, device)
    _check_brnpa(model, name)
    from ..openmmlab import BRNPAInferencer
    from ..openmmlab.benchmark import benchmark_context
    classes = _class_names(model)
    inferencer = BRNPAInferencer(model, pretrained=False, device=device,
                                 classes=classes)
    if checkpoint and not note:
        note = (f'weights: {checkpoint}' if given else
                f'weights: {os.path.basename(checkpoint)} (the zoo entry\'s, '
                'SHA-256 verified)')
    return LoadedModel(name, model, inferencer, classes, not untrained, note,
                       benchmark_context(model))


def _check_brnpa(model: nn.Module, name: str) -> None:
    from ..openmmlab import BRNPAHead
    head = getattr(model, 'head', None)
    if not isinstance(head, BRNPAHead) or not hasattr(model, 'neck'):
        raise ExplorerError(
            f'{name} is not a BR-NPA model: the explorer needs an '
            'ImageClassifier with an attention neck (BRNPANeck, BCNNNeck) '
            f'and a BRNPAHead, got head {type(head).__name__}.')


# --------------------------------------------------------------- images ---
def decode_image(data) -> np.ndarray:
    """An uploaded image as H x W x 3 uint8 RGB, shrunk to
    :data:`MAX_UPLOAD_SIDE` at most.

    Args:
        data: a file path, bytes, a PIL image or an array.

    Raises:
        ExplorerError: the data is not an image PIL can decode.
    """
    try:
        if isinstance(data, np.ndarray):
            image = Image.fromarray(data.astype(np.uint8))
        elif isinstance(data, Image.Image):
            image = data
        elif isinstance(data, (bytes, bytearray)):
            image = Image.open(io.BytesIO(data))
        else:
            image = Image.open(os.fspath(data))
        image = image.convert('RGB')
    except (UnidentifiedImageError, OSError, ValueError, TypeError) as error:
        raise ExplorerError(
            f'cannot decode the upload as an image ({error}); upload a '
            'PNG, JPEG or another format PIL reads.') from None
    scale = MAX_UPLOAD_SIDE / max(image.size)
    if scale < 1:
        image = image.resize((max(1, round(image.width * scale)),
                              max(1, round(image.height * scale))),
                             Image.BILINEAR)
    return np.asarray(image)


def occlude(image: np.ndarray, box: Sequence[float],
            mode: str = 'blur') -> np.ndarray:
    """``image`` with the pixels of ``box`` (x0, y0, x1, y1; x1, y1
    exclusive) box-blurred (a box of a third of the box's side) or set to
    mid grey."""
    if mode not in OCCLUSIONS:
        raise ExplorerError(f'occlusion must be one of {OCCLUSIONS}, got '
                            f'{mode!r}')
    height, width = image.shape[:2]
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    x0, x1 = sorted((min(max(x0, 0), width), min(max(x1, 0), width)))
    y0, y1 = sorted((min(max(y0, 0), height), min(max(y1, 0), height)))
    if x1 - x0 < 1 or y1 - y0 < 1:
        raise ExplorerError(
            f'the box {tuple(box)} covers no pixel of the {width} x {height} '
            'image: pick two opposite corners inside it.')
    changed = image.copy()
    if mode == 'grey':
        changed[y0:y1, x0:x1] = 128
    else:
        radius = max(1, min(x1 - x0, y1 - y0) // 3)
        crop = Image.fromarray(image).crop((x0, y0, x1, y1))
        changed[y0:y1, x0:x1] = np.asarray(
            crop.filter(ImageFilter.BoxBlur(radius)))
    return changed


# -------------------------------------------------------- benchmark data ---
def benchmark_samples(per_class: int = 2,
                      config: synthetic.SyntheticPartsConfig = BENCHMARK
                      ) -> Dict[str, synthetic.Scene]:
    """Test scenes of the benchmark, ``per_class`` of each class, by name.

    They are the first test images of each class of the dataset
    ``tools/make_synthetic_dataset.py`` writes with ``config`` (same
    scenes, same pixels), made in memory.
    """
    names = synthetic.class_names(config)
    count = config.train_per_class + config.test_per_class
    samples = {}
    for label, name in enumerate(names):
        for index in range(config.train_per_class,
                           config.train_per_class + per_class):
            image_id = label * count + index + 1
            scene = synthetic.make_scene(
                config, image_id, f'{label + 1:03d}.{name}/{name}_'
                f'{index:04d}.png', label)
            samples[f'{name} #{index - config.train_per_class + 1}'] = scene
    return samples


def object_label(item: synthetic.SceneObject) -> str:
    role = 'decisive' if item.decisive else 'distractor'
    return f'{item.colour} {item.shape} ({role})'


def object_at(scene: synthetic.Scene, x: float, y: float,
              config: synthetic.SyntheticPartsConfig = BENCHMARK
              ) -> Optional[int]:
    """Index of the object whose box holds the pixel (x, y), or None."""
    for index, item in enumerate(scene.objects):
        x0, y0, x1, y1 = item.box(config)
        if x0 <= x < x1 and y0 <= y < y1:
            return index
    return None


def scene_truth(scene: synthetic.Scene,
                config: synthetic.SyntheticPartsConfig = BENCHMARK
                ) -> Tuple[np.ndarray, np.ndarray]:
    """(K x 4 boxes, K decisive flags) of a scene's objects."""
    boxes = np.array([item.box(config) for item in scene.objects],
                     dtype=np.float64).reshape(-1, 4)
    return boxes, np.array([item.decisive for item in scene.objects],
                           dtype=bool)


# ----------------------------------------------------------- explaining ---
@dataclass
class Explanation:
    """One image explained by a :class:`LoadedModel`.

    Attributes:
        image: H x W x 3 uint8 RGB, what the model saw (its test pipeline's
            output).
        inputs: 1 x 3 x H x W, the normalised input of the model.
        label: the predicted class; ``top5``: (name, probability) pairs.
        result: the :class:`BRNPAInferencer` prediction (attention maps,
            activities, ``part_contributions``, ``pred_contributions``...).
        figure: the ranked maps, overlay and colour bar
            (:func:`~brnpa_plugins.core.render_ranked_maps`).
        truth: the objects' ground truth in the model's pixels, on samples.
        scores: per map name, {'pointing', 'energy'}, on samples.
        seconds: how long the explanation took.
    """
    image: np.ndarray
    inputs: Tensor
    label: int
    top5: List[Tuple[str, float]]
    result: dict
    figure: Image.Image
    truth: Optional[gt.GroundTruth] = None
    scores: Dict[str, Dict[str, float]] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def outlines(self) -> list:
        """The ground-truth boxes as outlines of the figures."""
        if self.truth is None:
            return []
        return [(*box.tolist(), 'decisive' if decisive else 'distractor')
                for box, decisive, valid in zip(*(t[0] for t in self.truth))
                if valid]


def ground_truth_scores(saliency: Tensor, truth: gt.GroundTruth,
                        image_size: Tuple[int, int],
                        tolerance: float) -> Dict[str, float]:
    """Pointing (the peak on a decisive part, within ``tolerance`` pixels)
    and energy (the share of the map's mass on decisive parts) of one map
    (1 x h x w)."""
    return dict(
        pointing=float(gt.decisive_pointing(saliency, truth, image_size,
                                            tolerance)[0]),
        energy=float(gt.decisive_energy(saliency, truth, image_size)[0]))


#: The explanation's own maps scored on samples, and how the page names them.
OWN_MAPS = {'brnpa': 'BR-NPA top map', 'brnpa-class': 'BR-NPA class map'}


def predict(loaded: LoadedModel, image: np.ndarray,
            objects: Optional[Tuple[np.ndarray, np.ndarray]] = None
            ) -> Explanation:
    """The prediction of one image, with the objects' ground truth moved
    to the model's pixels: an :class:`Explanation` without its figure and
    scores (what a saliency method beside it needs)."""
    inferencer = loaded.inferencer
    bgr = np.ascontiguousarray(image[..., ::-1])
    data = next(iter(inferencer.preprocess([bgr], batch_size=1)))
    with torch.no_grad():
        inputs = loaded.model.data_preprocessor(data, False)['inputs']
        result = inferencer.postprocess(inferencer.forward(data), None)[0]
    seen = result['image']
    scores = np.asarray(result['pred_scores'], dtype=np.float64)
    top = np.argsort(-scores, kind='stable')[:5]
    truth = None
    if objects is not None:
        scale = (seen.shape[1] / image.shape[1], seen.shape[0] / image.shape[0])
        truth = gt.GroundTruth.from_objects([objects], [scale])
    return Explanation(
        seen, inputs, int(result['pred_label']),
        [(loaded.classes[k], float(scores[k])) for k in top], result, None,
        truth)


def explain(loaded: LoadedModel, image: np.ndarray,
            objects: Optional[Tuple[np.ndarray, np.ndarray]] = None,
            tolerance: float = TOLERANCE) -> Explanation:
    """Predict and explain one image.

    Args:
        image: H x W x 3 uint8 RGB.
        objects: (K x 4 boxes, K decisive flags) in ``image``'s pixels, for
            a benchmark sample: drawn as outlines, and the BR-NPA maps'
            pointing and energy are scored against them.
        tolerance: pointing radius in the model's pixels (a quarter of a
            part, as the benchmark's reports).
    """
    start = time.perf_counter()
    explanation = predict(loaded, image, objects)
    seen, result, label = (explanation.image, explanation.result,
                           explanation.label)
    scores = np.asarray(result['pred_scores'], dtype=np.float64)
    truth, inputs = explanation.truth, explanation.inputs
    explanation.figure = render_ranked_maps(
        seen, result['attention_maps'], result['feature_norm'],
        result['part_activity'],
        f'{loaded.classes[label]} {scores[label]:.2f}',
        outlines=explanation.outlines,
        contributions=result['pred_contributions'])
    if truth is not None:
        for name, title in OWN_MAPS.items():
            saliency = get_saliency_method(name)(
                loaded.model, inputs, torch.tensor([label]))
            explanation.scores[title] = ground_truth_scores(
                saliency, truth, seen.shape[:2], tolerance)
    explanation.seconds = time.perf_counter() - start
    return explanation


# -------------------------------------------------------------- methods ---
class _Watched(nn.Module):
    """The model, reporting each forward pass and stopping when asked."""

    def __init__(self, model: nn.Module, on_pass: Callable[[int], None],
                 stop: threading.Event):
        super().__init__()
        self.model, self.on_pass, self.stop = model, on_pass, stop
        self.passes = 0

    def forward(self, inputs: Tensor) -> Tensor:
        if self.stop.is_set():
            raise Cancelled('stopped before it finished; nothing is shown.')
        logits = self.model(inputs)
        self.passes += 1
        self.on_pass(self.passes)
        return logits


def method_names() -> List[str]:
    """Every registered saliency method that needs no ground truth."""
    return sorted(name for name, method in saliency_methods().items()
                  if not method.needs_ground_truth)


def method_passes(name: str, options: dict) -> Optional[int]:
    """Forward passes a method will run, where known (RISE), for progress."""
    if name == 'rise':
        return math.ceil(options.get('num_masks', RISE_MASKS) /
                         options.get('batch_size', METHOD_BATCH))
    return None


def method_map(loaded: LoadedModel, explanation: Explanation, name: str,
               options: Optional[dict] = None,
               progress: Optional[Callable[[Optional[float], str], None]]
               = None,
               stop: Optional[threading.Event] = None
               ) -> Tuple[Tensor, Image.Image, Dict[str, float]]:
    """Run the registered saliency method ``name`` for the predicted class.

    Args:
        options: the method's options (RISE: ``num_masks``, default
            :data:`RISE_MASKS`).
        progress: called with (fraction done or None, text) after each
            forward pass.
        stop: set it to stop the method before its next forward pass
            (:class:`Cancelled` is raised).

    Returns:
        (the 1 x h x w map, its figure over the image, its pointing and
        energy on a sample, else {}).
    """
    method = get_saliency_method(name)
    options = dict(options or {})
    if name == 'rise':
        options.setdefault('num_masks', RISE_MASKS)
    total = method_passes(name, options)

    def on_pass(count: int) -> None:
        if progress is not None:
            fraction = None if total is None else min(1.0, count / total)
            progress(fraction, f'{method.label or name}: forward pass '
                     f'{count}' + (f' of {total}' if total else ''))

    image = explanation.image
    model = _Watched(loaded.model, on_pass, stop or threading.Event())
    context = dict(loaded.context, seed=0, batch_size=METHOD_BATCH,
                   stride=image.shape[0] // explanation.result[
                       'feature_norm'].shape[0])
    try:
        saliency = method(model, explanation.inputs,
                          torch.tensor([explanation.label]),
                          **context, **options).detach().float().cpu()
    except Cancelled:
        raise
    except Exception as error:  # noqa: BLE001  (the page shows it)
        raise ExplorerError(f'{name} failed on this model: '
                            f'{type(error).__name__}: {error}') from error
    # Shown min-max normalised: the scale energy is scored on, and RISE's
    # probabilities are a constant plus their signal.
    figure = render_ranked_maps(
        image, min_max_normalize(saliency), torch.ones(saliency.shape[-2:]),
        title=method.label or name, outlines=explanation.outlines,
        value_name='saliency, min-max')
    scores = {}
    if explanation.truth is not None:
        scores = ground_truth_scores(saliency, explanation.truth,
                                     image.shape[:2],
                                     TOLERANCE)
    return saliency, figure, scores


# ----------------------------------------------------------------- views ---
@dataclass(frozen=True)
class Current:
    """What is on the page: a sample's scene (as changed so far) or an
    upload (as occluded so far), and the original to go back to."""
    kind: str  # 'sample' or 'upload'
    name: str
    scene: Optional[synthetic.Scene] = None
    original_scene: Optional[synthetic.Scene] = None
    image: Optional[np.ndarray] = None
    original_image: Optional[np.ndarray] = None
    changes: Tuple[str, ...] = ()

    def rendered(self) -> np.ndarray:
        if self.kind == 'sample':
            return synthetic.render_scene(self.scene, BENCHMARK)
        return self.image


@dataclass
class View:
    """Everything the page shows for the current image."""
    current: Current
    explanation: Explanation
    display: np.ndarray  # the input, upscaled, outlines drawn
    scale: int  # display pixels per image pixel
    prediction: str
    top5: Dict[str, float]
    contributions: List[List]
    scores: str
    objects: List[str]
    model_line: str


def display_scale(shape: Sequence[int]) -> int:
    """Display pixels per image pixel for an image of ``shape`` (H, W...)."""
    return max(1, math.ceil(DISPLAY_SIDE / min(shape[:2])))


def _display(image: np.ndarray, outlines: list) -> Tuple[np.ndarray, int]:
    scale = display_scale(image.shape)
    return draw_outlines(image, outlines, scale), scale


def object_choices(scene: synthetic.Scene) -> List[str]:
    """'index: colour shape (role)' of each object of a scene."""
    return [f'{k}: {object_label(o)}' for k, o in enumerate(scene.objects)]


def parse_box(text: str) -> Tuple[float, float, float, float]:
    """'x0, y0, x1, y1' (image pixels) as four numbers."""
    try:
        values = tuple(float(v) for v in (text or '').replace(',', ' ').split())
    except ValueError:
        values = ()
    if len(values) != 4:
        raise ExplorerError(
            f'the box must be four numbers x0, y0, x1, y1 (click two '
            f'opposite corners of it), got {text!r}')
    return values


def select_at(current: 'Current', x: float, y: float, box: str
              ) -> Tuple[Optional[str], str]:
    """What a click at display pixel (x, y) selects.

    On a sample, the object under it (its entry of :func:`object_choices`);
    on an upload, a corner of the box: ``box`` ('' or 'x0, y0' or
    'x0, y0, x1, y1', image pixels) gets the first corner when it has none
    or both, the second otherwise.

    Returns:
        (the object chosen or None, the box text).
    """
    if current is None:
        raise ExplorerError('pick a sample or upload an image first.')
    scale = display_scale(current.rendered().shape)
    x, y = x / scale, y / scale
    if current.kind == 'sample':
        index = object_at(current.scene, x, y)
        if index is None:
            raise ExplorerError("no object there: click inside an object's "
                                'box.')
        return object_choices(current.scene)[index], box
    corner = f'{x:.0f}, {y:.0f}'
    first = (box or '').replace(',', ' ').split()
    if len(first) == 2:
        return None, f'{box.strip()}, {corner}'
    return None, corner


def score_text(values: Dict[str, float]) -> str:
    """'pointing hit, energy 0.668' (an all-zero map has no energy)."""
    energy = values['energy']
    return (f'pointing {"hit" if values["pointing"] == 1 else "miss"}, '
            'energy ' + ('n/a (all-zero map)' if math.isnan(energy)
                         else f'{energy:.3f}'))


def scores_text(scores: Dict[str, Dict[str, float]], tolerance: float) -> str:
    """The per-image scores as a Markdown table ('' without any)."""
    if not scores:
        return ''
    rows = [f'| {name} | ' + ' | '.join(score_text(values).split(', '))
            + ' |' for name, values in scores.items()]
    return ('| map | pointing: peak on a decisive part (within '
            f'{tolerance:g} px) | energy: share of the mass on decisive '
            'parts |\n|---|---|---|\n' + '\n'.join(rows))


class Explorer:
    """The explorer's state: one model, and a stop switch for methods.

    Every call returns what the page shows; a model in use is not run by
    two calls at once.
    """

    def __init__(self, loaded: LoadedModel):
        self.loaded = loaded
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self.samples = benchmark_samples()

    def load(self, source: Optional[str], checkpoint: Optional[str] = None,
             untrained: bool = False) -> str:
        """Replace the model; returns the model line of the page."""
        loaded = load_model(source or None, checkpoint or None,
                            untrained=untrained)
        with self._lock:
            self.loaded = loaded
        return self.model_line()

    def model_line(self) -> str:
        loaded = self.loaded
        status = 'trained' if loaded.trained else 'UNTRAINED'
        line = f'**Model:** {loaded.name} ({status}, {len(loaded.classes)} ' \
            'classes)'
        return f'{line}\n\n{loaded.note}' if loaded.note else line

    def sample(self, name: str) -> View:
        if name not in self.samples:
            raise ExplorerError(f'unknown sample {name!r}; pick one of the '
                                'list.')
        scene = self.samples[name]
        return self.view(Current('sample', name, scene, scene))

    def upload(self, data, name: str = 'upload') -> View:
        image = decode_image(data)
        return self.view(Current('upload', name, image=image,
                                 original_image=image))

    def intervene(self, current: Current, index: int,
                  action: str = 'remove') -> View:
        """Remove or demote object ``index`` of a sample's scene."""
        if current is None or current.kind != 'sample':
            raise ExplorerError('pick a benchmark sample first: objects can '
                                'be removed or demoted on samples only.')
        if action not in ACTIONS:
            raise ExplorerError(f'action must be one of {ACTIONS}, got '
                                f'{action!r}')
        if not 0 <= index < len(current.scene.objects):
            raise ExplorerError(
                f'object {index} does not exist: the scene has '
                f'{len(current.scene.objects)} objects; pick one of the list.')
        item = current.scene.objects[index]
        scene = synthetic.intervene(current.scene, index, action)
        return self.view(replace(
            current, scene=scene,
            changes=current.changes + (f'{action} {object_label(item)}', )))

    def occlude(self, current: Current, box: str, mode: str = 'blur') -> View:
        """Blur or grey a box ('x0, y0, x1, y1') of an upload."""
        if current is None or current.kind != 'upload':
            raise ExplorerError('upload an image first: a box is blurred or '
                                'greyed on uploads (samples have objects).')
        box = parse_box(box)
        image = occlude(current.image, box, mode)
        box_text = ', '.join(f'{round(v)}' for v in box)
        return self.view(replace(
            current, image=image,
            changes=current.changes + (f'{mode} box ({box_text})', )))

    def reset(self, current: Current) -> View:
        if current is None:
            raise ExplorerError('nothing to reset: pick a sample or upload '
                                'an image.')
        return self.view(replace(current, scene=current.original_scene,
                                 image=current.original_image, changes=()))

    def view(self, current: Current) -> View:
        image = current.rendered()
        objects = (scene_truth(current.scene)
                   if current.kind == 'sample' else None)
        with self._lock:
            loaded = self.loaded
            explanation = explain(loaded, image, objects)
        label = loaded.classes[explanation.label]
        probability = explanation.top5[0][1]
        untrained = '' if loaded.trained else ' (UNTRAINED model)'
        prediction = (f'Prediction: {label} ({probability:.3f}){untrained}'
                      f' in {explanation.seconds * 1000:.0f} ms')
        if current.changes:
            prediction += ' after ' + ', '.join(current.changes)
        contributions = explanation.result['pred_contributions']
        activity = explanation.result['part_activity']
        order = np.argsort(-activity, kind='stable')
        display, scale = _display(image, explanation.outlines
                                  if image.shape == explanation.image.shape
                                  else [])
        return View(
            current, explanation, display, scale, prediction,
            dict(explanation.top5),
            [[rank + 1, round(float(activity[k]), 3),
              round(float(contributions[k]), 3)]
             for rank, k in enumerate(order)],
            scores_text(explanation.scores, TOLERANCE),
            object_choices(current.scene) if current.kind == 'sample'
            else [],
            self.model_line())

    def method(self, current: Current, name: str, num_masks: int = RISE_MASKS,
               progress=None) -> Tuple[Image.Image, str]:
        """A registered method's map of the current image; the figure and
        a line of text (with its scores on a sample)."""
        if current is None:
            raise ExplorerError('pick a sample or upload an image first.')
        self.stop.clear()
        options = {'num_masks': int(num_masks)} if name == 'rise' else {}
        image = current.rendered()
        objects = (scene_truth(current.scene)
                   if current.kind == 'sample' else None)
        with self._lock:
            start = time.perf_counter()
            explanation = predict(self.loaded, image, objects)
            _, figure, scores = method_map(self.loaded, explanation, name,
                                           options, progress, self.stop)
        text = f'{name}: {time.perf_counter() - start:.1f} s'
        if scores:
            text += '; ' + score_text(scores)
        return figure, text

    def cancel(self) -> str:
        """Stop the running method before its next forward pass."""
        self.stop.set()
        return 'stopping...'
