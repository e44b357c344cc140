"""Few-shot datasets: learn2learn's benchmark classes and image folders.

The standard benchmarks are read by learn2learn's own dataset classes, with
downloads disabled: those classes try to download (or create folders, or
fail with a bare ``FileNotFoundError``) when their files are missing, so the
files are checked first and a missing one is reported by name. Any folder of
class sub-folders per split (a CUB-200-2011 copy split by classes, or any
torchvision ``ImageFolder``) is a custom few-shot set.

Omniglot has no split of its own: like learn2learn's benchmark, the 1623
characters of its background and evaluation sets are numbered as
``FullOmniglot`` numbers them, shuffled, and cut into 1100 training, 100
validation and 423 test classes (``class_split``), here with a fixed seed and
sorted folder names, so that every run sees the same split. The extracted
folders are read directly: torchvision's Omniglot, under ``FullOmniglot``,
also insists on the original zip files and their checksums.
"""
import os
from typing import Dict, NamedTuple, Optional, Sequence, Tuple

import numpy as np
import torch
from torch.utils.data import Dataset
from torchvision.transforms import v2

from ..core.checks import check_positive_int
from ..data.roots import check_dataset_root

SPLITS = ('train', 'validation', 'test')
#: learn2learn's file names abbreviate the validation split.
SHORT_SPLITS = {'train': 'train', 'validation': 'val', 'test': 'test'}
FOLDER = 'folder'
DEFAULT_SPLIT_DIRS = {'train': 'train', 'validation': 'val', 'test': 'test'}
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class Benchmark(NamedTuple):
    """Where a learn2learn benchmark keeps its files.

    Attributes:
        dataset_class: class name in ``learn2learn.vision.datasets``.
        layouts: alternative sets of paths (relative to the root, with
            ``{mode}`` and ``{short}`` for the split) of which one must exist.
        pixels_0_255: the class returns float tensors in [0, 255] rather
            than PIL images.
        channels: image channels (1 for Omniglot's grey characters).
        class_split: for a set without splits, the number of classes of
            each split (train, validation, test).
        invert: learn2learn's ``get_tasksets`` maps the pixels to ``1 - x``
            (Omniglot: white strokes on black).
        class_rotations: the rotations (degrees) learn2learn's
            ``get_tasksets`` draws for the classes of a task
            (``RandomClassRotation``); empty: none.
    """
    dataset_class: str
    layouts: Tuple[Tuple[str, ...], ...]
    pixels_0_255: bool = False
    channels: int = 3
    class_split: Optional[Tuple[int, int, int]] = None
    invert: bool = False
    class_rotations: Tuple[float, ...] = ()


#: Keyed by their ``learn2learn.vision.benchmarks`` names.
BENCHMARKS = {
    'mini-imagenet': Benchmark('MiniImagenet',
                               (('mini-imagenet-cache-{mode}.pkl', ), ),
                               pixels_0_255=True),
    'tiered-imagenet': Benchmark(
        'TieredImagenet', (('tiered-imagenet/{short}_images_png.pkl',
                            'tiered-imagenet/{short}_labels.pkl'), )),
    'cifarfs': Benchmark(
        'CIFARFS',
        # Either the class folders learn2learn made from the raw archive, or
        # the raw archive, which learn2learn then splits into those folders.
        (('cifarfs/processed/{short}', ),
         ('cifarfs/cifar100/splits/bertinetto/{short}.txt',
          'cifarfs/cifar100/data'))),
    'fc100': Benchmark('FC100', (('FC100_{short}.pickle', ), )),
    # The extracted folders torchvision's Omniglot reads (learn2learn's
    # FullOmniglot concatenates both); every split reads both of them.
    'omniglot': Benchmark(
        'FullOmniglot', (('omniglot-py/images_background',
                          'omniglot-py/images_evaluation'), ),
        channels=1, class_split=(1100, 100, 423), invert=True,
        class_rotations=(0.0, 90.0, 180.0, 270.0)),
}
#: Seed of the class shuffle of the sets without splits (Omniglot).
CLASS_SPLIT_SEED = 0


def check_split(split: str, owner: str = '') -> None:
    """Raise a ValueError, prefixed by ``owner``, unless ``split`` is one of
    :data:`SPLITS`."""
    if split not in SPLITS:
        raise ValueError(f'{owner}split must be one of {SPLITS}, got '
                         f'{split!r}')


def expected_paths(benchmark: str, splits: Sequence[str] = SPLITS,
                   split_dirs: Optional[Dict[str, str]] = None
                   ) -> Tuple[Tuple[str, ...], ...]:
    """Alternative layouts of the paths ``benchmark`` needs for ``splits``."""
    if benchmark == FOLDER:
        dirs = {**DEFAULT_SPLIT_DIRS, **(split_dirs or {})}
        return (tuple(dirs[s] for s in splits), )
    if benchmark not in BENCHMARKS:
        raise ValueError(f'unknown few-shot benchmark {benchmark!r}; choose '
                         f'one of {sorted(BENCHMARKS) + [FOLDER]}')
    layouts = BENCHMARKS[benchmark].layouts
    return tuple(
        tuple(dict.fromkeys(p.format(mode=s, short=SHORT_SPLITS[s])
                            for s in splits for p in layout))
        for layout in layouts)


def check_root(benchmark: str, root: str, splits: Sequence[str] = SPLITS,
               split_dirs: Optional[Dict[str, str]] = None) -> None:
    """Raise a FileNotFoundError naming the files missing under ``root``.

    Nothing is downloaded or created: learn2learn's classes would try to
    download, which hangs or fails obscurely offline.
    """
    for split in splits:
        check_split(split)
    layouts = expected_paths(benchmark, splits, split_dirs)
    if benchmark == FOLDER:
        expected = '\n'.join(f'  {os.path.join(root, d, "<class>", "<image>")}'
                              for d in layouts[0])
        fix = 'Rename the split folders with the datasets\' split_dirs.'
    else:
        expected = '\n  or\n'.join('\n'.join(f'  {os.path.join(root, p)}'
                                             for p in layout)
                                   for layout in layouts)
        fix = (f'learn2learn\'s {BENCHMARKS[benchmark].dataset_class} reads '
               'these files. Downloads are disabled: fetch them once where '
               'there is internet access (e.g. '
               'learn2learn.vision.benchmarks.get_tasksets'
               f'({benchmark!r}, root=...)) and copy them there.')
    check_dataset_root(benchmark, root, layouts, expected,
                       fix + ' Or set the datasets\' root (--cfg-options '
                       'train_dataloader.dataset.root=... and the val and '
                       'test ones) to the folder that holds '
                       'them.')


def invert_pixels(image: torch.Tensor) -> torch.Tensor:
    """``1 - x`` of an image in [0, 1] (learn2learn's Omniglot)."""
    return 1.0 - image


def build_transform(image_size: int,
                    mean: Sequence[float] = IMAGENET_MEAN,
                    std: Sequence[float] = IMAGENET_STD,
                    augment: bool = False,
                    pixels_0_255: bool = False,
                    channels: int = 3,
                    invert: bool = False) -> v2.Compose:
    """Image (PIL or tensor) -> normalised float tensor C x S x S.

    Args:
        image_size (int): Output side S.
        mean, std: Normalisation constants (ImageNet's by default).
        augment (bool): Random crop with padding, colour jitter and
            horizontal flip, the usual few-shot training augmentation.
        pixels_0_255 (bool): The input is a float tensor in [0, 255]
            (learn2learn's mini-ImageNet).
        channels (int): Output channels C: 3 (grey images are repeated) or
            1 (colour images are converted to grey); ``mean`` and ``std``
            have one value per channel.
        invert (bool): Map the [0, 1] pixels to ``1 - x`` before the
            normalisation, as learn2learn's Omniglot benchmark does.
            Defaults to False.
    """
    check_positive_int(image_size, 'image_size')
    if channels not in (1, 3):
        raise ValueError(f'dataset.channels must be 1 or 3, got {channels!r}')
    for name, values in (('mean', mean), ('std', std)):
        if len(values) != channels:
            raise ValueError(
                f'dataset.{name} has {len(values)} values but the images '
                f'have {channels} channel(s) (dataset.channels={channels}); '
                f'give one value per channel, e.g. dataset.{name}=' +
                ('(0.5,)' if channels == 1 else str(tuple(
                    IMAGENET_MEAN if name == 'mean' else IMAGENET_STD))))
    # A [0, 255] float tensor is cast to uint8 so that the next step
    # rescales it to [0, 1] like any other image.
    steps = [v2.ToImage()] + ([v2.ToDtype(torch.uint8)] if pixels_0_255
                              else [])
    steps += [v2.Grayscale(1) if channels == 1 else v2.RGB(),
              v2.ToDtype(torch.float32, scale=True)]
    if invert:
        steps.append(v2.Lambda(invert_pixels))
    steps += [v2.Resize((image_size, image_size), antialias=True)]
    if augment:
        steps += [v2.RandomCrop(image_size, padding=max(1, image_size // 10)),
                  v2.ColorJitter(0.4, 0.4, 0.4), v2.RandomHorizontalFlip()]
    steps += [v2.Normalize(list(mean), list(std)), v2.ToPureTensor()]
    return v2.Compose(steps)


def dataset_labels(dataset: Dataset) -> np.ndarray:
    """Integer class label of every image, read from the dataset's memory.

    learn2learn's classes keep them in ``labels`` or ``y``, torchvision's
    ``ImageFolder`` in ``targets``.
    """
    for name in ('targets', 'labels', 'y'):
        labels = getattr(dataset, name, None)
        if labels is not None:
            return np.asarray(labels).astype(np.int64)
    raise TypeError(f'{type(dataset).__name__} exposes no labels (targets, '
                    'labels or y); wrap it in learn2learn.data.MetaDataset '
                    'yourself.')


def labels_to_indices(labels: np.ndarray) -> Dict[int, list]:
    """Map each label to the indices of its images (learn2learn's layout)."""
    order = np.argsort(labels, kind='stable')
    classes, starts = np.unique(labels[order], return_index=True)
    return {int(c): group.tolist()
            for c, group in zip(classes, np.split(order, starts[1:]))}


class _ExtractedOmniglot(Dataset):
    """One of Omniglot's extracted folders, read like torchvision's Omniglot.

    torchvision's class (which learn2learn's ``FullOmniglot`` builds on)
    accepts a folder only next to the original zip file with its checksum;
    this one reads the same folders (``<alphabet>/<character>/*.png``)
    without the zip. torchvision lists them in the order of the file system;
    here they are sorted by name, so the class numbers (and the split) are
    the same on every machine.
    """

    def __init__(self, folder: str, first_label: int = 0):
        self.folder = folder
        alphabets = sorted(os.listdir(folder))
        self.characters = [os.path.join(a, c) for a in alphabets
                           for c in sorted(os.listdir(os.path.join(folder, a)))
                           if os.path.isdir(os.path.join(folder, a, c))]
        self.images = [(os.path.join(character, name), first_label + label)
                       for label, character in enumerate(self.characters)
                       for name in sorted(os.listdir(os.path.join(
                           folder, character))) if name.endswith('.png')]
        self.labels = [label for _, label in self.images]

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int):
        from PIL import Image
        path, label = self.images[index]
        with Image.open(os.path.join(self.folder, path)) as image:
            return image.convert('L'), label


class OmniglotCharacters(Dataset):
    """Omniglot's background then evaluation characters, numbered as
    learn2learn's ``FullOmniglot`` numbers them (the evaluation labels follow
    the background ones), with names sorted."""

    def __init__(self, root: str, transform=None):
        folder = os.path.join(os.path.expanduser(root), 'omniglot-py')
        background = _ExtractedOmniglot(
            os.path.join(folder, 'images_background'))
        evaluation = _ExtractedOmniglot(
            os.path.join(folder, 'images_evaluation'),
            len(background.characters))
        self.parts = (background, evaluation)
        self.transform = transform
        self.labels = background.labels + evaluation.labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int):
        first = len(self.parts[0])
        part, index = (self.parts[0], index) if index < first else \
            (self.parts[1], index - first)
        image, label = part[index]
        if self.transform is not None:
            image = self.transform(image)
        return image, label


def split_classes(num_classes: int, class_split: Sequence[int],
                  split: str, seed: int = CLASS_SPLIT_SEED) -> list:
    """The classes of ``split`` when ``num_classes`` are shuffled (fixed
    seed) and cut into ``class_split`` = (train, validation, test) counts."""
    check_split(split)
    counts = tuple(class_split)
    if len(counts) != 3 or not all(isinstance(c, int) and c > 0
                                   for c in counts):
        raise ValueError('dataset.class_split must be three positive integers '
                         '(train, validation and test classes), got '
                         f'{class_split!r}')
    if sum(counts) > num_classes:
        raise ValueError(
            f'dataset.class_split={counts} needs {sum(counts)} classes but the '
            f'data has {num_classes}; lower dataset.class_split.')
    order = np.random.default_rng(seed).permutation(num_classes).tolist()
    start = sum(counts[:SPLITS.index(split)])
    return sorted(order[start:start + counts[SPLITS.index(split)]])


def build_dataset(benchmark: str,
                  root: str,
                  split: str,
                  transform=None,
                  split_dirs: Optional[Dict[str, str]] = None,
                  class_split: Optional[Sequence[int]] = None):
    """One split of a few-shot set as a ``learn2learn.data.MetaDataset``.

    Args:
        benchmark (str): A ``learn2learn.vision.benchmarks`` name
            (``'omniglot'``, ``'mini-imagenet'``, ``'tiered-imagenet'``,
            ``'cifarfs'``, ``'fc100'``) or ``'folder'`` for an image folder.
        root (str): The data root (the folder learn2learn downloads to).
        split (str): ``'train'``, ``'validation'`` or ``'test'``.
        transform: Applied to each image (see :func:`build_transform`).
        split_dirs (dict, optional): For ``'folder'``: the sub-folder of each
            split; defaults to ``train``, ``val`` and ``test``.
        class_split (Sequence[int], optional): For ``'omniglot'``: the
            number of training, validation and test characters; None uses
            learn2learn's (1100, 100, 423).
    """
    import learn2learn as l2l
    from torchvision.datasets import ImageFolder

    check_root(benchmark, root, (split, ), split_dirs)
    root = os.path.expanduser(root)
    if benchmark == FOLDER:
        dirs = {**DEFAULT_SPLIT_DIRS, **(split_dirs or {})}
        dataset = ImageFolder(os.path.join(root, dirs[split]), transform)
    elif benchmark == 'omniglot':
        dataset = OmniglotCharacters(root, transform)
        labels = dataset_labels(dataset)
        meta = l2l.data.MetaDataset(
            dataset, labels_to_indices=labels_to_indices(labels))
        classes = split_classes(
            len(meta.labels), class_split or
            BENCHMARKS[benchmark].class_split, split)
        return l2l.data.FilteredMetaDataset(meta, labels=classes)
    else:
        dataset_class = getattr(l2l.vision.datasets,
                                BENCHMARKS[benchmark].dataset_class)
        dataset = dataset_class(root=root, mode=split, transform=transform,
                                download=False)
        # The labels are in memory: learn2learn's bookkeeping cache would
        # instead load every image once and write a pickle into the root.
        vars(dataset).pop('_bookkeeping_path', None)
    return l2l.data.MetaDataset(
        dataset, labels_to_indices=labels_to_indices(dataset_labels(dataset)))


def build_split(benchmark: str,
                root: str,
                split: str,
                image_size: int = 84,
                mean: Sequence[float] = IMAGENET_MEAN,
                std: Sequence[float] = IMAGENET_STD,
                augment: bool = False,
                channels: Optional[int] = None,
                split_dirs: Optional[Dict[str, str]] = None,
                class_split: Optional[Sequence[int]] = None,
                invert: Optional[bool] = None):
    """One split with its transform: :func:`build_dataset` over
    :func:`build_transform`, the files checked first.

    ``channels`` None takes the benchmark's (1 for Omniglot), else 3;
    ``invert`` None the benchmark's (True for Omniglot, as learn2learn's
    ``get_tasksets``), else False.

    Returns:
        ``(dataset, channels)``.
    """
    check_root(benchmark, root, (split, ), split_dirs)
    if channels is None:
        channels = BENCHMARKS[benchmark].channels \
            if benchmark in BENCHMARKS else 3
    if invert is None:
        invert = benchmark in BENCHMARKS and BENCHMARKS[benchmark].invert
    transform = build_transform(
        int(image_size), mean, std, bool(augment),
        benchmark in BENCHMARKS and BENCHMARKS[benchmark].pixels_0_255,
        int(channels), bool(invert))
    dataset = build_dataset(benchmark, root, split, transform, split_dirs,
                            class_split)
    return dataset, int(channels)
