"""A generated fine-grained benchmark with known evidence, in the CUB layout.

Every image shows the same objects up to their arrangement: each of the
``parts`` shapes (disc, square, triangle, cross) and each of as many colours
(red, green, blue, yellow) appears exactly once among the *decisive parts*,
which carry a thin white rim, and again among the *distractors*, which look
the same without the rim. Shapes cover exactly the same number of pixels.

- The class is the way the decisive parts are painted: a one-to-one
  assignment of colours to shapes (``parts!`` possible classes, 6 for three
  parts). Which colour sits on which rimmed shape is the only evidence.
- Distractors are painted by an assignment drawn independently of the
  class, so they carry no information about it; but the parts' looks are
  always present, so which looks appear together still hints at the class
  (:func:`brnpa_plugins.evaluation.shortcuts.cooccurrence_accuracy`).
- Every image holds the same number of pixels of each colour, of each shape
  and of rim, and images are stored losslessly (PNG), so global colour or
  shape statistics carry no class information either (a colour-histogram
  classifier stays at chance: ``tests/data/test_synthetic.py``).

Options of :class:`SyntheticPartsConfig` make it harder: ``variant=
'two-tone-rim'`` rims every object in the same two tones and marks a
decisive part by their order (:mod:`.two_tone`), so no model-free detector of
rims or edges tells parts from distractors; ``distractor_colours='complete'``
shows every (shape, colour) once per image, so which objects appear together
says nothing either; ``shortcut='marker'`` plants a class-coded corner marker
(:mod:`.markers`) that test images show, lack or show recoded.

Ground truth written next to the images:

- ``objects.txt``: ``<image_id> <object> <shape> <colour> <role> <x0> <y0>
  <x1> <y1>``, one line per object, role ``decisive`` or ``distractor``, the
  box in pixels (x1, y1 exclusive). All boxes have the same size (a part
  with its rim), whatever the role.
- ``parts/part_locs.txt`` (as CUB): the centre of each decisive part; part
  ids are the shapes (``parts/parts.txt``).
- ``scenes.jsonl``: the scene of each image (background seed, objects and
  their positions), from which :func:`render_scene` re-renders the image
  exactly, and :func:`intervene` removes an object, turns a decisive part
  into a distractor or swaps two objects' roles, so that the effect of
  every object on a model can be measured by intervention;
  :func:`edit_shortcut` does the same for the marker, whose box and code
  ``shortcuts.txt`` records.

The data is a pure function of its config: the same seed gives the same
files. It is written to a temporary folder renamed into place, so an
interrupted run never leaves a half-written dataset behind.
"""
import itertools
import json
import math
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, fields, replace
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image

from .markers import marker_box, paint_marker
from .two_tone import paint_two_tone_rim

SHAPES = ('disc', 'square', 'triangle', 'cross')
COLOURS = {
    'red': (220, 30, 30),
    'green': (30, 190, 40),
    'blue': (40, 70, 230),
    'yellow': (235, 210, 20),
}
RIM_COLOUR = (255, 255, 255)
ROLES = ('decisive', 'distractor')
MANIFEST = 'brnpa_synthetic.json'
CLASS_NAMES_FILE = 'class_names.txt'
OBJECTS_FILE = 'objects.txt'
SCENES_FILE = 'scenes.jsonl'
SHORTCUTS_FILE = 'shortcuts.txt'
#: What marks a decisive part (see :class:`SyntheticPartsConfig`).
VARIANTS = ('white-rim', 'two-tone-rim')
DISTRACTOR_COLOURS = ('independent', 'complete')
SHORTCUTS = ('none', 'marker')
#: What the test images' marker shows: their class's code, nothing, or the
#: code of another class.
SHORTCUT_TESTS = ('present', 'removed', 'recoded')
#: The fields of :class:`SyntheticPartsConfig` that select a variant of the
#: benchmark rather than its sizes, and the values each takes.
OPTION_CHOICES = {'variant': VARIANTS,
                  'distractor_colours': DISTRACTOR_COLOURS,
                  'shortcut': SHORTCUTS, 'shortcut_test': SHORTCUT_TESTS}
#: Share of a part's bounding square its shape covers (every shape alike).
SHAPE_AREA = 0.45


@dataclass(frozen=True)
class SyntheticPartsConfig:
    """Parameters of the generated dataset (all of them go in its manifest).

    Args:
        num_classes: number of classes, at most ``parts!`` (the colour
            assignments); fewer take a seeded subset of them.
        parts: decisive parts per image, one of each of the first ``parts``
            shapes and colours (2 to 4).
        train_per_class: training images per class.
        test_per_class: test images per class.
        image_size: side of the square images in pixels.
        part_size: side of a shape's bounding square in pixels.
        distractors: objects per image that do not decide the class.
        seed: random seed.
        variant: what marks a decisive part. ``'white-rim'``: a white rim
            (distractors have none), the most contrasted thing of the image;
            ``'two-tone-rim'``: every object has a rim of the same two tones
            and a decisive part wears them in the opposite order of a
            distractor (:mod:`.two_tone`), so no object is more contrasted
            than another.
        distractor_colours: ``'independent'``: each group of ``parts``
            distractors is painted by an assignment drawn independently of
            the class (which objects appear together still hints at the
            class); ``'complete'``: the distractors are every shape in each
            colour its decisive part does not have, so every image shows
            every (shape, colour) exactly once (needs ``distractors ==
            parts * (parts - 1)``).
        shortcut: ``'none'``, or ``'marker'``: a class-coded marker in the
            top-left corner (:mod:`.markers`), written to ``shortcuts.txt``.
        shortcut_test: what the test images' marker shows: ``'present'``
            (their class's code), ``'removed'`` (no marker) or
            ``'recoded'`` (the code of another class); training images
            always show their class's.
    """
    num_classes: int = 6
    parts: int = 3
    train_per_class: int = 120
    test_per_class: int = 40
    image_size: int = 96
    part_size: int = 16
    distractors: int = 3
    seed: int = 0
    variant: str = 'white-rim'
    distractor_colours: str = 'independent'
    shortcut: str = 'none'
    shortcut_test: str = 'present'

    @property
    def rim(self) -> int:
        """Width of the white rim of a decisive part, in pixels."""
        return max(1, self.part_size // 8)

    @property
    def box_size(self) -> int:
        """Side of every object's box: the shape's square plus the rim."""
        return self.part_size + 2 * self.rim

    @property
    def gap(self) -> int:
        """Least distance between two objects' boxes, in pixels."""
        return max(2, self.part_size // 4)

    def validate(self) -> None:
        """Raise ValueError naming the first bad field and what it allows."""
        for name in ('num_classes', 'parts', 'train_per_class',
                     'test_per_class', 'image_size', 'part_size',
                     'distractors', 'seed'):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise ValueError(f'{name} must be an integer, got {value!r}')
        if not 2 <= self.parts <= len(SHAPES):
            raise ValueError(f'parts must lie in [2, {len(SHAPES)}], got '
                             f'{self.parts}')
        most = math.factorial(self.parts)
        if not 2 <= self.num_classes <= most:
            raise ValueError(
                f'num_classes must lie in [2, {most}] (the colour '
                f'assignments of parts={self.parts}), got {self.num_classes}')
        for name in ('train_per_class', 'test_per_class'):
            if getattr(self, name) < 1:
                raise ValueError(f'{name} must be >= 1, got '
                                 f'{getattr(self, name)}')
        if self.part_size < 8 or 4 * self.part_size > self.image_size:
            raise ValueError(
                f'part_size={self.part_size} must be >= 8 and at most a '
                f'quarter of image_size={self.image_size}')
        if self.distractors < 0:
            raise ValueError(f'distractors must be >= 0, got '
                             f'{self.distractors}')
        for name, allowed in OPTION_CHOICES.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f'{name} must be one of {allowed}, got '
                                 f'{getattr(self, name)!r}')
        complete = self.parts * (self.parts - 1)
        if self.distractor_colours == 'complete' and \
                self.distractors != complete:
            raise ValueError(
                f"distractor_colours='complete' paints every shape in each "
                f'colour its decisive part lacks, so it needs distractors = '
                f'parts * (parts - 1) = {complete}, got distractors='
                f'{self.distractors}; set distractors={complete} or '
                "distractor_colours='independent'")
        if self.shortcut == 'none' and self.shortcut_test != 'present':
            raise ValueError(
                f'shortcut_test={self.shortcut_test!r} changes a marker, but '
                "shortcut='none' draws none; set shortcut='marker' or "
                "shortcut_test='present'")
        cell = self.box_size + self.gap
        objects = self.parts + self.distractors
        area = objects * cell**2
        if self.shortcut == 'marker':
            area += (marker_box(self.part_size)[2] + self.gap)**2
        if area > 0.5 * self.image_size**2:
            raise ValueError(
                f'{objects} objects of {self.box_size} px do not fit in '
                f'{self.image_size} px images; lower distractors or '
                'part_size, or raise image_size')

    def record(self) -> dict:
        """The config as the manifest stores it: every field, except the
        options that select a variant, a distractor rule or a shortcut
        where they keep their default (so datasets of the default variant
        have the manifest they always had)."""
        record = asdict(self)
        for item in fields(self):
            if item.name in OPTION_CHOICES and \
                    record[item.name] == item.default:
                del record[item.name]
        return record


@dataclass(frozen=True)
class SceneObject:
    """One drawn object: its look, its role and the top-left of its box."""
    shape: str
    colour: str
    decisive: bool
    top: int
    left: int
    tone: float  # brightness factor of the colour, in [0.85, 1]

    def box(self, config: SyntheticPartsConfig) -> Tuple[int, int, int, int]:
        """(x0, y0, x1, y1) of the object's box, x1 and y1 exclusive."""
        size = config.box_size
        return (self.left, self.top, self.left + size, self.top + size)


@dataclass(frozen=True)
class Scene:
    """Everything an image is rendered from."""
    image_id: int
    path: str  # relative to images/
    label: int  # from 0
    background_seed: int
    objects: Tuple[SceneObject, ...]
    marker: Optional[int] = None  # the code of the corner marker, if any

    def to_json(self) -> str:
        record = asdict(self)
        record['objects'] = [asdict(o) for o in self.objects]
        if record['marker'] is None:
            del record['marker']
        return json.dumps(record, separators=(',', ':'))

    @classmethod
    def from_json(cls, line: str) -> 'Scene':
        record = json.loads(line)
        record['objects'] = tuple(
            SceneObject(**o) for o in record['objects'])
        return cls(**record)


def class_assignments(config: SyntheticPartsConfig) -> List[Tuple[int, ...]]:
    """The colour of each decisive shape, per class.

    Entry ``c`` is a permutation: shape ``SHAPES[i]`` of class ``c`` is
    painted ``list(COLOURS)[c[i]]``. All ``parts!`` assignments for the
    largest ``num_classes``, else a seeded subset in lexicographic order.
    """
    every = list(itertools.permutations(range(config.parts)))
    if config.num_classes == len(every):
        return every
    rng = np.random.default_rng(config.seed)
    chosen = sorted(rng.choice(len(every), config.num_classes,
                               replace=False))
    return [every[i] for i in chosen]


def class_names(config: SyntheticPartsConfig) -> List[str]:
    """Readable class names, e.g. ``red_disc+green_square+blue_triangle``."""
    colours = list(COLOURS)
    return ['+'.join(f'{colours[c]}_{SHAPES[i]}'
                     for i, c in enumerate(assignment))
            for assignment in class_assignments(config)]


def _gauge(shape: str, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """A level that grows from the shape's centre; {level <= 1} has the area
    ``SHAPE_AREA`` of the square [-1, 1]^2 for every shape."""
    area = 4 * SHAPE_AREA
    if shape == 'disc':
        return np.sqrt((x**2 + y**2) * np.pi / area)
    if shape == 'square':
        return np.maximum(np.abs(x), np.abs(y)) / np.sqrt(area / 4)
    if shape == 'triangle':  # apex up, around its centroid; area 2 t^2
        level = np.maximum((y - 1 / 3) / (2 / 3),
                           (2 * np.abs(x) - y + 1 / 3) / (4 / 3))
        return level / np.sqrt(area / 2)
    if shape == 'cross':  # arms a third as wide as long; area 20/9 t^2
        level = np.maximum(np.minimum(np.abs(x), np.abs(y)) * 3,
                           np.maximum(np.abs(x), np.abs(y)))
        return level / np.sqrt(area * 9 / 20)
    raise ValueError(f'unknown shape {shape!r}; expected one of {SHAPES}')


def shape_mask(shape: str, size: int, supersample: int = 8) -> np.ndarray:
    """Boolean size x size mask of ``shape``, exactly round(0.45 size^2) on.

    The pixels kept are those the continuous shape (of that exact area)
    covers most, measured on a ``supersample``-times finer grid, so every
    shape covers the same number of pixels and still looks like itself.
    """
    fine = size * supersample
    coords = (np.arange(fine) + 0.5) / fine * 2 - 1  # [-1, 1]
    y, x = np.meshgrid(coords, coords, indexing='ij')
    inside = (_gauge(shape, x, y) <= 1).reshape(size, supersample, size,
                                                supersample)
    coverage = inside.mean(axis=(1, 3))
    centres = (np.arange(size) + 0.5) / size * 2 - 1
    cy, cx = np.meshgrid(centres, centres, indexing='ij')
    # Most covered first; among equals, the pixel whose centre lies deeper.
    order = np.lexsort((_gauge(shape, cx, cy).ravel(), -coverage.ravel()))
    mask = np.zeros(size * size, dtype=bool)
    mask[order[:int(round(SHAPE_AREA * size * size))]] = True
    return mask.reshape(size, size)


def _dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    """Square dilation of a boolean mask by ``radius`` pixels (padded)."""
    padded = np.pad(mask, radius)
    out = np.zeros_like(padded)
    size = mask.shape[0]
    for dy in range(2 * radius + 1):
        for dx in range(2 * radius + 1):
            out[dy:dy + size, dx:dx + size] |= mask
    return out


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    """Muted low-frequency texture with thin random lines."""
    coarse = rng.uniform(70, 170, size=(6, 6, 3)).astype(np.uint8)
    grey = coarse.mean(axis=2, keepdims=True)
    coarse = (0.35 * coarse + 0.65 * grey).astype(np.uint8)
    image = np.asarray(
        Image.fromarray(coarse).resize((size, size), Image.BICUBIC),
        dtype=np.float64)
    image += rng.normal(0, 10, size=image.shape)
    for _ in range(6):
        tone = rng.uniform(60, 190)
        position = rng.integers(size)
        if rng.random() < 0.5:
            image[position:position + 1, :] = tone
        else:
            image[:, position:position + 1] = tone
    return image


def render_scene(scene: Scene, config: SyntheticPartsConfig) -> np.ndarray:
    """The image of ``scene``: uint8 H x W x 3, the same pixels every call."""
    image = _background(np.random.default_rng(scene.background_seed),
                        config.image_size)
    rim, colours = config.rim, COLOURS
    for item in scene.objects:
        mask = shape_mask(item.shape, config.part_size)
        top, left = item.top, item.left
        box = image[top:top + config.box_size, left:left + config.box_size]
        if config.variant == 'two-tone-rim':
            paint_two_tone_rim(box, _dilate(mask, rim) & ~np.pad(mask, rim),
                               item.decisive)
        elif item.decisive:
            box[_dilate(mask, rim)] = RIM_COLOUR
        inner = box[rim:rim + config.part_size, rim:rim + config.part_size]
        inner[mask] = tuple(c * item.tone for c in colours[item.colour])
    if scene.marker is not None:
        paint_marker(image, marker_box(config.part_size), scene.marker)
    return np.clip(image, 0, 255).astype(np.uint8)


#: What :func:`intervene` can do to an object.
INTERVENTIONS = ('remove', 'demote', 'swap')


def intervene(scene: Scene, index: int, action: str = 'remove') -> Scene:
    """``scene`` with object ``index`` removed, demoted or swapped.

    Args:
        scene: the scene to change.
        index: which object (position in ``scene.objects``).
        action: ``'remove'`` (the background shows through), ``'demote'``
            (the same shape and colour marked as a distractor: without the
            white rim, or with the two tones reversed) or ``'swap'`` (the
            object trades roles with the first object of the same shape and
            the other role: swapping every decisive part hands the roles to
            distractors, whose colours then spell the class).
    """
    if not 0 <= index < len(scene.objects):
        raise IndexError(f'object index {index} out of range for a scene of '
                         f'{len(scene.objects)} objects')
    objects = list(scene.objects)
    item = objects[index]
    if action == 'remove':
        del objects[index]
    elif action == 'demote':
        objects[index] = replace(item, decisive=False)
    elif action == 'swap':
        other = next((k for k, o in enumerate(objects)
                      if o.shape == item.shape
                      and o.decisive != item.decisive), None)
        if other is None:
            raise ValueError(f'object {index} ({item.shape}) has no object '
                             'of the same shape and the other role to swap '
                             'with')
        objects[index] = replace(item, decisive=not item.decisive)
        objects[other] = replace(objects[other], decisive=item.decisive)
    else:
        raise ValueError(f'action must be one of {INTERVENTIONS}, got '
                         f'{action!r}')
    return replace(scene, objects=tuple(objects))


def edit_shortcut(scene: Scene, action: str,
                  config: SyntheticPartsConfig) -> Scene:
    """``scene`` with its corner marker showing the class's code
    (``'present'``), no marker (``'removed'``) or the code of another class
    (``'recoded'``, drawn from the seed and the image id: the same code
    every call, and the one a ``shortcut_test='recoded'`` dataset holds).
    """
    if config.shortcut != 'marker':
        raise ValueError(f'edit_shortcut needs a dataset made with '
                         f"shortcut='marker', got shortcut="
                         f'{config.shortcut!r}')
    if action == 'present':
        return replace(scene, marker=scene.label)
    if action == 'removed':
        return replace(scene, marker=None)
    if action == 'recoded':
        rng = np.random.default_rng([config.seed, scene.image_id, 2])
        shift = 1 + int(rng.integers(config.num_classes - 1))
        return replace(scene,
                       marker=(scene.label + shift) % config.num_classes)
    raise ValueError(f'action must be one of {SHORTCUT_TESTS}, got '
                     f'{action!r}')


def _place(rng: np.random.Generator, count: int,
           config: SyntheticPartsConfig,
           reserved: Optional[Tuple[int, int, int, int]] = None
           ) -> List[Tuple[int, int]]:
    """Top-left corners of ``count`` boxes at least ``gap`` apart, and
    ``gap`` away from the ``reserved`` box (x0, y0, x1, y1) if one is given.
    """
    span = config.image_size - config.box_size + 1
    size, gap = config.box_size, config.gap
    reach = size + gap

    def clear(top: int, left: int) -> bool:
        x0, y0, x1, y1 = reserved
        return (top >= y1 + gap or top + size + gap <= y0 or
                left >= x1 + gap or left + size + gap <= x0)

    for _ in range(100):
        corners: List[Tuple[int, int]] = []
        for _ in range(200 * count):
            top, left = (int(v) for v in rng.integers(0, span, size=2))
            if reserved is not None and not clear(top, left):
                continue
            if all(abs(top - t) >= reach or abs(left - l) >= reach
                   for t, l in corners):
                corners.append((top, left))
                if len(corners) == count:
                    return corners
    raise RuntimeError('could not place the objects without overlap; lower '
                       'distractors or part_size, or raise image_size')


def make_scene(config: SyntheticPartsConfig, image_id: int, path: str,
               label: int, test: bool = False) -> Scene:
    """The scene of image ``image_id`` of class ``label`` (deterministic);
    a ``test`` image's marker follows ``config.shortcut_test``."""
    background_seed = int(np.random.SeedSequence(
        [config.seed, image_id]).generate_state(1)[0])
    rng = np.random.default_rng([config.seed, image_id, 1])
    colours = list(COLOURS)
    assignment = class_assignments(config)[label]
    painted = [(i, c, True) for i, c in enumerate(assignment)]
    if config.distractor_colours == 'complete':
        painted += [(i, c, False) for i in range(config.parts)
                    for c in range(config.parts) if c != assignment[i]]
    else:
        for start in range(0, config.distractors, config.parts):
            shuffle = rng.permutation(config.parts)
            painted += [(i, int(shuffle[i]), False)
                        for i in range(min(config.parts,
                                           config.distractors - start))]
    marked = config.shortcut == 'marker'
    corners = _place(rng, len(painted), config,
                     marker_box(config.part_size) if marked else None)
    order = rng.permutation(len(painted))  # the role is not in the index
    tones = rng.uniform(0.85, 1.0, size=len(painted))
    objects = tuple(
        SceneObject(SHAPES[painted[k][0]], colours[painted[k][1]],
                    painted[k][2], corners[j][0], corners[j][1],
                    round(float(tones[j]), 4))
        for j, k in enumerate(order))
    scene = Scene(image_id, path, label, background_seed, objects)
    if marked:
        scene = edit_shortcut(scene, config.shortcut_test if test
                              else 'present', config)
    return scene


def generate_part_dataset(root: str, config: SyntheticPartsConfig = None,
                          overwrite: bool = False) -> str:
    """Write the dataset to ``root`` in the CUB-200-2011 layout.

    If ``root`` already holds a dataset generated with the same config, it is
    reused as is. Files written: ``images/<class>/<name>.png``,
    ``images.txt``, ``image_class_labels.txt``, ``train_test_split.txt``,
    ``classes.txt``, ``bounding_boxes.txt`` (the box around the decisive
    parts), ``parts/parts.txt``, ``parts/part_locs.txt``, ``objects.txt``,
    ``scenes.jsonl``, ``class_names.txt`` (one name per line, for
    mmpretrain's ``classes`` argument), with ``shortcut='marker'``
    ``shortcuts.txt`` (``<image_id> <x0> <y0> <x1> <y1> <code>``: each
    image's marker box and the code it shows, -1 where it has none) and a
    manifest with the config.

    Args:
        root: destination folder.
        config: a :class:`SyntheticPartsConfig`; defaults to the default one.
        overwrite: replace an existing folder made with another config.

    Returns:
        str: ``root``.
    """
    config = config or SyntheticPartsConfig()
    config.validate()
    root = os.path.abspath(root)
    manifest = os.path.join(root, MANIFEST)
    if os.path.isdir(root):
        if os.path.isfile(manifest):
            with open(manifest) as stream:
                if json.load(stream) == config.record():
                    return root
        if not overwrite:
            raise FileExistsError(
                f'{root} exists and was not generated with this config; '
                'pass overwrite=True (or --overwrite) or choose another '
                'folder.')
    parent = os.path.dirname(root)
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix='.partial-', dir=parent)
    try:
        _write_dataset(staging, config)
        if os.path.isdir(root):
            shutil.rmtree(root)
        os.replace(staging, root)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return root


def _generated_file(data_root: str, name: str) -> str:
    """Path of ``name`` in a generated dataset; a clear error if missing."""
    path = os.path.join(data_root, name)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f'{path} is missing: {data_root!r} is not a complete dataset '
            'made by generate_part_dataset; (re)generate it with '
            f'`python tools/make_synthetic_dataset.py {data_root} '
            '--overwrite`.')
    return path


def load_config(data_root: str) -> SyntheticPartsConfig:
    """The config a generated dataset was made with (from its manifest)."""
    with open(_generated_file(data_root, MANIFEST)) as stream:
        return SyntheticPartsConfig(**json.load(stream))


def load_scenes(data_root: str) -> Dict[str, Scene]:
    """Scene of every image, keyed by its path relative to ``images/``."""
    with open(_generated_file(data_root, SCENES_FILE)) as stream:
        scenes = [Scene.from_json(line) for line in stream if line.strip()]
    return {scene.path: scene for scene in scenes}


def _write_dataset(root: str, config: SyntheticPartsConfig) -> None:
    names = class_names(config)
    lines: Dict[str, List[str]] = {
        name: [] for name in ('images.txt', 'image_class_labels.txt',
                              'train_test_split.txt', 'bounding_boxes.txt',
                              'parts/part_locs.txt', OBJECTS_FILE,
                              SCENES_FILE)
    }
    if config.shortcut != 'none':
        lines[SHORTCUTS_FILE] = []
    image_id = 0
    count = config.train_per_class + config.test_per_class
    for label, name in enumerate(names):
        folder = f'{label + 1:03d}.{name}'
        os.makedirs(os.path.join(root, 'images', folder))
        for index in range(count):
            image_id += 1
            relative = f'{folder}/{name}_{index:04d}.png'
            train = index < config.train_per_class
            scene = make_scene(config, image_id, relative, label, not train)
            Image.fromarray(render_scene(scene, config)).save(
                os.path.join(root, 'images', relative))
            _annotate(lines, scene, config, train)

    def write(name, rows):
        path = os.path.join(root, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as stream:
            stream.write('\n'.join(rows) + '\n')

    for name, rows in lines.items():
        write(name, rows)
    write('classes.txt',
          [f'{i + 1} {i + 1:03d}.{n}' for i, n in enumerate(names)])
    # One name per line, for mmpretrain's ``classes=<file>`` argument.
    write(CLASS_NAMES_FILE, names)
    write('parts/parts.txt',
          [f'{i + 1} {s}' for i, s in enumerate(SHAPES[:config.parts])])
    write(MANIFEST, [json.dumps(config.record(), indent=2)])


def _annotate(lines: Dict[str, List[str]], scene: Scene,
              config: SyntheticPartsConfig, train: bool) -> None:
    """Add one image's rows to every annotation file."""
    i = scene.image_id
    lines['images.txt'].append(f'{i} {scene.path}')
    lines['image_class_labels.txt'].append(f'{i} {scene.label + 1}')
    lines['train_test_split.txt'].append(f'{i} {int(train)}')
    lines[SCENES_FILE].append(scene.to_json())
    if SHORTCUTS_FILE in lines:
        code = -1 if scene.marker is None else scene.marker
        lines[SHORTCUTS_FILE].append(
            f'{i} ' + ' '.join(str(v) for v in marker_box(config.part_size))
            + f' {code}')
    decisive = {}
    for k, item in enumerate(scene.objects, 1):
        box = item.box(config)
        role = ROLES[0] if item.decisive else ROLES[1]
        lines[OBJECTS_FILE].append(
            f'{i} {k} {item.shape} {item.colour} {role} '
            + ' '.join(str(v) for v in box))
        if item.decisive:
            decisive[item.shape] = box
    for part, shape in enumerate(SHAPES[:config.parts], 1):
        x0, y0, x1, y1 = decisive[shape]
        lines['parts/part_locs.txt'].append(
            f'{i} {part} {(x0 + x1) / 2:.1f} {(y0 + y1) / 2:.1f} 1')
    boxes = np.array(list(decisive.values()))
    x0, y0 = boxes[:, :2].min(axis=0)
    x1, y1 = boxes[:, 2:].max(axis=0)
    lines['bounding_boxes.txt'].append(
        f'{i} {x0:.1f} {y0:.1f} {x1 - x0:.1f} {y1 - y0:.1f}')


def load_objects(data_root: str) -> Dict[str, Tuple[np.ndarray, np.ndarray]]:
    """Boxes and roles of every image's objects, from ``objects.txt``.

    Returns:
        dict: path relative to ``images/`` -> (float array K x 4 of
        (x0, y0, x1, y1) pixels, bool array K: decisive).
    """
    objects_path = _generated_file(data_root, OBJECTS_FILE)
    with open(os.path.join(data_root, 'images.txt')) as stream:
        paths = dict(line.split()[:2] for line in stream if line.strip())
    rows: Dict[str, List[Sequence[str]]] = {}
    with open(objects_path) as stream:
        for line in stream:
            fields = line.split()
            if fields:
                rows.setdefault(paths[fields[0]], []).append(fields)
    return {
        path: (np.array([[float(v) for v in r[5:9]] for r in items]),
               np.array([r[4] == ROLES[0] for r in items]))
        for path, items in rows.items()
    }


def load_shortcuts(data_root: str) -> Dict[str, Tuple[np.ndarray, int]]:
    """Marker box and code of every image, from ``shortcuts.txt``.

    Returns:
        dict: path relative to ``images/`` -> (float array (x0, y0, x1, y1)
        in pixels, x1 and y1 exclusive; the code the marker shows, -1 where
        the image has no marker).
    """
    path = os.path.join(data_root, SHORTCUTS_FILE)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"{path} is missing: {data_root!r} was not generated with "
            "shortcut='marker'; generate it with SyntheticPartsConfig("
            "shortcut='marker') (or --shortcut marker).")
    with open(os.path.join(data_root, 'images.txt')) as stream:
        paths = dict(line.split()[:2] for line in stream if line.strip())
    shortcuts = {}
    with open(path) as stream:
        for line in stream:
            row = line.split()
            if row:
                shortcuts[paths[row[0]]] = (
                    np.array([float(v) for v in row[1:5]]),
                    int(row[5]))
    return shortcuts
