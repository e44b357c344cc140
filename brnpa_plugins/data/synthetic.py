"""A procedurally generated fine-grained dataset in the CUB-200-2011 layout.

Every image shows a cluttered background, a few grey distractor shapes and the
two small *parts* that define its class. A part type is a (shape, colour)
pair; neither the shape nor the colour alone identifies a class, only the
combination at one location does, so a classifier has to find the parts.
Part centres are written to ``parts/part_locs.txt`` exactly as CUB does, so
localisation (pointing game) can be scored against them.

The data is a pure function of the arguments: the same seed gives the same
files. It is written to a temporary folder and renamed into place, so an
interrupted run never leaves a half-written dataset behind.
"""
import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass
from typing import List, Tuple

import numpy as np
from PIL import Image

SHAPES = ('disc', 'square', 'triangle', 'cross')
COLOURS = {
    'red': (220, 30, 30),
    'green': (30, 190, 40),
    'blue': (40, 70, 230),
    'yellow': (235, 210, 20),
}
MANIFEST = 'brnpa_synthetic.json'
CLASS_NAMES_FILE = 'class_names.txt'


@dataclass(frozen=True)
class SyntheticPartsConfig:
    """Parameters of the generated dataset (all of them go in its manifest).

    Args:
        num_classes: number of classes; each uses two of the 16 part types,
            so at most 8.
        train_per_class: training images per class.
        test_per_class: test images per class.
        image_size: side of the square images in pixels.
        part_size: side of a part's bounding square in pixels.
        distractors: grey shapes drawn on every image.
        seed: random seed.
    """
    num_classes: int = 8
    train_per_class: int = 80
    test_per_class: int = 25
    image_size: int = 96
    part_size: int = 16
    distractors: int = 3
    seed: int = 0

    def validate(self) -> None:
        max_classes = len(SHAPES) * len(COLOURS) // 2
        if not 2 <= self.num_classes <= max_classes:
            raise ValueError(f'num_classes must lie in [2, {max_classes}], '
                             f'got {self.num_classes}')
        for name in ('train_per_class', 'test_per_class'):
            if getattr(self, name) < 1:
                raise ValueError(f'{name} must be >= 1, got '
                                 f'{getattr(self, name)}')
        if self.part_size < 6 or 4 * self.part_size > self.image_size:
            raise ValueError(
                f'part_size={self.part_size} must be >= 6 and at most a '
                f'quarter of image_size={self.image_size}')
        if self.distractors < 0:
            raise ValueError(f'distractors must be >= 0, got '
                             f'{self.distractors}')


def part_types() -> List[Tuple[str, str]]:
    """The 16 part types, as (shape, colour) pairs; part id = index + 1."""
    return [(shape, colour) for shape in SHAPES for colour in COLOURS]


def class_parts(config: SyntheticPartsConfig) -> List[Tuple[int, int]]:
    """The two part-type indices of each class.

    Types are paired so that every class shares its shapes and its colours
    with other classes: only shape and colour together tell classes apart.
    """
    rng = np.random.default_rng(config.seed)
    types = part_types()
    while True:
        order = rng.permutation(len(types))
        pairs = [(int(order[2 * i]), int(order[2 * i + 1]))
                 for i in range(config.num_classes)]
        if _ambiguous_alone(pairs, types):
            return pairs


def _ambiguous_alone(pairs, types) -> bool:
    """True if every shape and every colour in use belongs to >= 2 classes."""
    for attribute in (0, 1):  # shape, colour
        owners = {}
        for label, pair in enumerate(pairs):
            for part in pair:
                owners.setdefault(types[part][attribute], set()).add(label)
        if min(len(labels) for labels in owners.values()) < 2:
            return False
    return True


def _shape_mask(shape: str, size: int) -> np.ndarray:
    coords = (np.arange(size) + 0.5) / size * 2 - 1  # [-1, 1]
    y, x = np.meshgrid(coords, coords, indexing='ij')
    if shape == 'disc':
        return x**2 + y**2 <= 0.95
    if shape == 'square':
        return (np.abs(x) <= 0.8) & (np.abs(y) <= 0.8)
    if shape == 'triangle':
        return (y <= 0.85) & (y >= -0.85 + 2 * np.abs(x))
    if shape == 'cross':
        return ((np.abs(x) <= 0.3) | (np.abs(y) <= 0.3)) & \
            (np.abs(x) <= 0.95) & (np.abs(y) <= 0.95)
    raise ValueError(f'unknown shape {shape!r}; expected one of {SHAPES}')


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
        if rng.random() < 0.5:
            row = rng.integers(size)
            image[row:row + 1, :] = tone
        else:
            col = rng.integers(size)
            image[:, col:col + 1] = tone
    return image


def _free_position(rng, taken, size, part_size, max_tries=200):
    """Top-left corner of a square that overlaps none of ``taken``."""
    for _ in range(max_tries):
        top, left = rng.integers(0, size - part_size + 1, size=2)
        if all(abs(top - t) >= part_size or abs(left - l) >= part_size
               for t, l in taken):
            taken.append((top, left))
            return int(top), int(left)
    raise RuntimeError('could not place all shapes without overlap; lower '
                       'distractors or part_size, or raise image_size')


def _draw(image, mask, top, left, colour):
    size = mask.shape[0]
    region = image[top:top + size, left:left + size]
    region[mask] = colour


def render_image(rng: np.random.Generator, config: SyntheticPartsConfig,
                 parts: Tuple[int, int]):
    """One image of a class with the given part types.

    Returns:
        (uint8 image, list of (part_index, centre_x, centre_y)).
    """
    size, part_size = config.image_size, config.part_size
    types = part_types()
    image = _background(rng, size)
    taken = []
    for _ in range(config.distractors):
        shape = SHAPES[rng.integers(len(SHAPES))]
        tone = rng.uniform(90, 230)
        top, left = _free_position(rng, taken, size, part_size)
        _draw(image, _shape_mask(shape, part_size), top, left,
              (tone, tone, tone * rng.uniform(0.8, 1.0)))
    located = []
    for part in parts:
        shape, colour = types[part]
        top, left = _free_position(rng, taken, size, part_size)
        jitter = rng.uniform(0.85, 1.0)
        _draw(image, _shape_mask(shape, part_size), top, left,
              tuple(c * jitter for c in COLOURS[colour]))
        located.append((part, left + part_size / 2, top + part_size / 2))
    return np.clip(image, 0, 255).astype(np.uint8), located


def generate_part_dataset(root: str, config: SyntheticPartsConfig = None,
                          overwrite: bool = False) -> str:
    """Write the dataset to ``root`` in the CUB-200-2011 layout.

    If ``root`` already holds a dataset generated with the same config, it is
    reused as is. Files written: ``images/<class>/<name>.jpg``,
    ``images.txt``, ``image_class_labels.txt``, ``train_test_split.txt``,
    ``classes.txt``, ``bounding_boxes.txt``, ``parts/parts.txt``,
    ``parts/part_locs.txt``, ``class_names.txt`` (one name per line, for
    mmpretrain's ``classes`` argument) and a manifest with the config.

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
                if json.load(stream) == asdict(config):
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


def class_names(config: SyntheticPartsConfig) -> List[str]:
    """Readable class names, e.g. ``red_disc+blue_cross``."""
    types = part_types()
    return [
        '+'.join(f'{types[p][1]}_{types[p][0]}' for p in pair)
        for pair in class_parts(config)
    ]


def _write_dataset(root: str, config: SyntheticPartsConfig) -> None:
    rng = np.random.default_rng(config.seed + 1)
    types = part_types()
    pairs = class_parts(config)
    names = class_names(config)
    images, labels, splits, boxes, locations = [], [], [], [], []
    image_id = 0
    for label, (pair, name) in enumerate(zip(pairs, names)):
        folder = f'{label + 1:03d}.{name}'
        os.makedirs(os.path.join(root, 'images', folder))
        count = config.train_per_class + config.test_per_class
        for index in range(count):
            image_id += 1
            pixels, located = render_image(rng, config, pair)
            relative = f'{folder}/{name}_{index:04d}.jpg'
            Image.fromarray(pixels).save(
                os.path.join(root, 'images', relative), quality=95)
            images.append(f'{image_id} {relative}')
            labels.append(f'{image_id} {label + 1}')
            splits.append(
                f'{image_id} {int(index < config.train_per_class)}')
            xs = [x for _, x, _ in located]
            ys = [y for _, _, y in located]
            half = config.part_size / 2
            boxes.append(f'{image_id} {min(xs) - half:.1f} {min(ys) - half:.1f}'
                         f' {max(xs) - min(xs) + 2 * half:.1f}'
                         f' {max(ys) - min(ys) + 2 * half:.1f}')
            centres = {part: (x, y) for part, x, y in located}
            for part in range(len(types)):
                x, y = centres.get(part, (0.0, 0.0))
                visible = int(part in centres)
                locations.append(
                    f'{image_id} {part + 1} {x:.1f} {y:.1f} {visible}')

    def write(name, lines):
        path = os.path.join(root, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as stream:
            stream.write('\n'.join(lines) + '\n')

    write('images.txt', images)
    write('image_class_labels.txt', labels)
    write('train_test_split.txt', splits)
    write('bounding_boxes.txt', boxes)
    write('classes.txt',
          [f'{i + 1} {i + 1:03d}.{n}' for i, n in enumerate(names)])
    # One name per line, for mmpretrain's ``classes=<file>`` argument.
    write(CLASS_NAMES_FILE, names)
    write('parts/parts.txt',
          [f'{i + 1} {c} {s}' for i, (s, c) in enumerate(types)])
    write('parts/part_locs.txt', locations)
    write(MANIFEST, [json.dumps(asdict(config), indent=2)])
