"""Tiny few-shot data sets in learn2learn's on-disk formats.

Each class is a coloured shape (square, disk, cross, ring, diamond or bars)
drawn at a random place and size on a noisy background, so an embedding
that learns colour and shape generalises to unseen classes: 18 classes
(8 train, 5 validation, 5 test), each a different shape-colour pair,
32 x 32 pixels.

:func:`write_tiny_fewshot_data` (``tools/make_tiny_fewshot_data.py OUT_DIR``)
writes all of them: the mini-ImageNet pickles (``OUT_DIR/pickle``), an
image folder (``OUT_DIR/folder``), tiered-ImageNet (``OUT_DIR/tiered``),
FC100 (``OUT_DIR/fc100``), CIFAR-FS (``OUT_DIR/cifarfs``, the raw archive
layout) and Omniglot (``OUT_DIR/omniglot``, grey images); each folder is a
dataset ``root`` of ``docs/fewshot.md``. The tests read the same data.
"""
import io
import os
import pickle
import shutil
import tempfile
from typing import Dict

import numpy as np
from PIL import Image

from .data import DEFAULT_SPLIT_DIRS, SHORT_SPLITS

SPLIT_CLASSES = {'train': 8, 'validation': 5, 'test': 5}
COLOURS = np.array([[230, 40, 40], [40, 200, 60], [50, 80, 230]],
                   dtype=np.float64)
NUM_SHAPES = 6


def _shape_masks(shape: int, dy: np.ndarray, dx: np.ndarray,
                 radius: np.ndarray) -> np.ndarray:
    """Boolean masks of one shape for B offsets grids and radii."""
    dist = np.sqrt(dy**2 + dx**2)
    inside = np.maximum(np.abs(dy), np.abs(dx)) <= radius
    masks = [
        inside,
        dist <= radius,
        inside & ((np.abs(dy) <= radius / 3) | (np.abs(dx) <= radius / 3)),
        (dist <= radius) & (dist >= radius / 2),
        np.abs(dy) + np.abs(dx) <= radius,
        inside & (np.floor(dy / np.maximum(radius / 2, 1)) % 2 == 0),
    ]
    return masks[shape]


def make_class_images(class_index: int, count: int, size: int,
                      rng: np.random.Generator) -> np.ndarray:
    """``count`` images of class ``class_index``: count x size x size x 3."""
    # Each run of NUM_SHAPES classes shifts the colours by one, so that
    # every split mixes shapes and colours: no split is told apart by one
    # cue alone.
    shape = class_index % NUM_SHAPES
    colour = COLOURS[(class_index + class_index // NUM_SHAPES) % len(COLOURS)]
    grid = np.arange(size, dtype=np.float64)
    radius = rng.uniform(size * 0.18, size * 0.3, (count, 1, 1))
    centre_y = rng.uniform(radius[:, 0, 0], size - radius[:, 0, 0])
    centre_x = rng.uniform(radius[:, 0, 0], size - radius[:, 0, 0])
    dy = grid[None, :, None] - centre_y[:, None, None]
    dx = grid[None, None, :] - centre_x[:, None, None]
    mask = _shape_masks(shape, dy, dx, radius)[..., None]
    background = rng.uniform(0, 90, (count, size, size, 3))
    tint = colour + rng.normal(0, 15, (count, 1, 1, 3))
    images = np.where(mask, tint, background)
    return np.clip(images, 0, 255).astype(np.uint8)


def make_splits(images_per_class: int = 15, size: int = 32, seed: int = 0):
    """{split: [(class name, images)]} with disjoint classes per split."""
    rng = np.random.default_rng(seed)
    splits, first = {}, 0
    for split, num_classes in SPLIT_CLASSES.items():
        splits[split] = [
            (f'n{first + c:08d}',
             make_class_images(first + c, images_per_class, size, rng))
            for c in range(num_classes)
        ]
        first += num_classes
    return splits


def write_mini_imagenet(root: str, splits) -> str:
    """Write ``mini-imagenet-cache-{mode}.pkl`` files as learn2learn reads
    them: a dict with ``image_data`` (N x H x W x 3 uint8) and
    ``class_dict`` (class name -> list of indices into ``image_data``)."""
    os.makedirs(root, exist_ok=True)
    for mode, classes in splits.items():
        image_data = np.concatenate([images for _, images in classes])
        class_dict, start = {}, 0
        for name, images in classes:
            class_dict[name] = list(range(start, start + len(images)))
            start += len(images)
        path = os.path.join(root, f'mini-imagenet-cache-{mode}.pkl')
        with open(path, 'wb') as stream:
            pickle.dump({'image_data': image_data, 'class_dict': class_dict},
                        stream)
    return root


def _split_arrays(classes):
    """Images N x H x W x 3 and integer labels N of one split."""
    images = np.concatenate([images for _, images in classes])
    labels = np.repeat(np.arange(len(classes)),
                       [len(images) for _, images in classes])
    return images, labels


def write_tiered_imagenet(root: str, splits) -> str:
    """Write ``tiered-imagenet/{train,val,test}_{images_png,labels}.pkl``:
    a list of PNG-encoded images and ``{'label_specific': labels}``."""
    directory = os.path.join(root, 'tiered-imagenet')
    os.makedirs(directory, exist_ok=True)
    for mode, classes in splits.items():
        images, labels = _split_arrays(classes)
        encoded = []
        for image in images:
            stream = io.BytesIO()
            Image.fromarray(image).save(stream, format='PNG')
            encoded.append(stream.getvalue())
        short = SHORT_SPLITS[mode]
        for name, data in ((f'{short}_images_png.pkl', encoded),
                           (f'{short}_labels.pkl',
                            {'label_specific': labels})):
            with open(os.path.join(directory, name), 'wb') as stream:
                pickle.dump(data, stream)
    return root


def write_fc100(root: str, splits) -> str:
    """Write ``FC100_{train,val,test}.pickle``: ``{'data', 'labels'}`` with
    the (non-consecutive) CIFAR-100 labels of each split's classes."""
    os.makedirs(root, exist_ok=True)
    first = 0
    for mode, classes in splits.items():
        images, labels = _split_arrays(classes)
        path = os.path.join(root, f'FC100_{SHORT_SPLITS[mode]}.pickle')
        with open(path, 'wb') as stream:
            pickle.dump({'data': images, 'labels': (3 * (labels + first)
                                                    ).tolist()}, stream)
        first += len(classes)
    return root


def write_image_folder(root: str, splits) -> str:
    """Write ``root/{train,val,test}/<class>/<index>.png``."""
    for mode, classes in splits.items():
        for name, images in classes:
            directory = os.path.join(root, DEFAULT_SPLIT_DIRS[mode], name)
            os.makedirs(directory, exist_ok=True)
            for index, image in enumerate(images):
                Image.fromarray(image).save(
                    os.path.join(directory, f'{index:03d}.png'))
    return root


def write_cifarfs_raw(root: str, splits) -> str:
    """Write CIFAR-FS as learn2learn 0.2.0 finds it after extracting its
    archive: ``cifarfs/cifar100/data/<class>/<image>.png`` and the class
    lists ``cifarfs/cifar100/splits/bertinetto/{train,val,test}.txt``
    (learn2learn then copies the classes into ``cifarfs/processed``)."""
    base = os.path.join(root, 'cifarfs', 'cifar100')
    lists = os.path.join(base, 'splits', 'bertinetto')
    os.makedirs(lists, exist_ok=True)
    for mode, classes in splits.items():
        for name, images in classes:
            directory = os.path.join(base, 'data', name)
            os.makedirs(directory, exist_ok=True)
            for index, image in enumerate(images):
                Image.fromarray(image).save(
                    os.path.join(directory, f'{index:03d}.png'))
        with open(os.path.join(lists, f'{SHORT_SPLITS[mode]}.txt'),
                  'w') as stream:
            stream.write(''.join(f'{name}\n' for name, _ in classes))
    return root


#: Alphabets of the tiny Omniglot: (folder, characters) per set.
OMNIGLOT_ALPHABETS = {
    'images_background': (('Alpha_(tiny)', 6), ('Beta', 4)),
    'images_evaluation': (('Gamma', 8), ),
}


def omniglot_classes(splits):
    """The classes of ``splits`` in FullOmniglot's label order, as grey
    images (the channel mean of the colour ones)."""
    classes = [images for split in splits.values() for _, images in split]
    return [images.mean(axis=-1).astype(np.uint8) for images in classes]


def write_omniglot(root: str, splits) -> str:
    """Write ``omniglot-py/images_{background,evaluation}/<alphabet>/
    character<NN>/<id>_<NN>.png``, the extracted layout torchvision's
    Omniglot (and so learn2learn's FullOmniglot) reads: 1-channel images,
    18 characters, labelled 0..17 in the order of :func:`omniglot_classes`.
    """
    classes = iter(omniglot_classes(splits))
    label = 0
    for folder, alphabets in OMNIGLOT_ALPHABETS.items():
        for alphabet, count in alphabets:
            for character in range(1, count + 1):
                directory = os.path.join(root, 'omniglot-py', folder,
                                         alphabet, f'character{character:02d}')
                os.makedirs(directory, exist_ok=True)
                for index, image in enumerate(next(classes)):
                    Image.fromarray(image, mode='L').save(os.path.join(
                        directory, f'{label + 1:04d}_{index + 1:02d}.png'))
                label += 1
    return root


#: The sub-folder of each format under the folder of
#: :func:`write_tiny_fewshot_data`, with its writer.
FORMATS = {
    'pickle': write_mini_imagenet,
    'folder': write_image_folder,
    'tiered': write_tiered_imagenet,
    'fc100': write_fc100,
    'cifarfs': write_cifarfs_raw,
    'omniglot': write_omniglot,
}


def write_tiny_fewshot_data(out_dir: str, images_per_class: int = 15,
                            seed: int = 0) -> Dict[str, str]:
    """Write every format of :data:`FORMATS` under ``out_dir``.

    The files are written into a hidden folder next to ``out_dir``, renamed
    to ``out_dir`` once complete: an interrupted run leaves nothing there.

    Args:
        out_dir: A folder that does not exist yet.
        images_per_class: Images of each of the 18 classes (at least the
            shots plus queries of the episodes to draw).
        seed: Seed of the images.

    Returns:
        The dataset root of each format, keyed as in :data:`FORMATS`.
    """
    if not isinstance(images_per_class, int) or images_per_class < 1:
        raise ValueError('images_per_class must be a positive integer, got '
                         f'{images_per_class!r}')
    out_dir = os.path.abspath(out_dir)
    if os.path.exists(out_dir):
        raise FileExistsError(f'{out_dir} exists already; choose a new '
                              'folder (or remove it).')
    splits = make_splits(images_per_class, seed=seed)
    parent = os.path.dirname(out_dir)
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=f'.{os.path.basename(out_dir)}-',
                               dir=parent)
    try:
        for name, write in FORMATS.items():
            write(os.path.join(staging, name), splits)
        os.rename(staging, out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return {name: os.path.join(out_dir, name) for name in FORMATS}
