"""mmpretrain's fine-grained datasets, checking ``data_root`` before loading.

mmpretrain's ``CUB``, ``StanfordCars`` and ``FGVCAircraft`` fail on a wrong
``data_root`` with a bare ``FileNotFoundError`` or ``RuntimeError`` that does
not say which files they expect. ``CheckedCUB``, ``CheckedStanfordCars`` and
``CheckedFGVCAircraft`` are the same classes (same arguments, same samples)
that first check the folder and name the expected layout.
"""
import os
from typing import Sequence, Tuple

from mmpretrain.datasets import CUB, FGVCAircraft, StanfordCars
from mmpretrain.registry import DATASETS

from ..data import check_cub_root

STANFORD_CARS_LAYOUT = """\
<data_root>/                       either
  cars_annos.mat                   all annotations (train and test)
  car_ims/<image>.jpg
<data_root>/                       or
  devkit/cars_train_annos.mat
  devkit/cars_test_annos_withlabels.mat
  cars_train/<image>.jpg
  cars_test/<image>.jpg"""

FGVC_AIRCRAFT_LAYOUT = """\
<data_root>/                       (the fgvc-aircraft-2013b folder)
  data/images/<image id>.jpg
  data/images_variant_<split>.txt  <image id> <variant name>"""


def check_dataset_root(dataset: str, data_root: str,
                       alternatives: Sequence[Tuple[str, ...]],
                       layout: str) -> None:
    """Raise FileNotFoundError unless one set of paths all exist.

    Args:
        dataset: name shown in the message.
        data_root: the folder to check.
        alternatives: groups of paths relative to ``data_root``; the folder
            is valid when every path of one group exists.
        layout: the expected layout, shown in the message.
    """
    if os.path.isdir(data_root):
        missing = [[
            os.path.join(data_root, path) for path in group
            if not os.path.exists(os.path.join(data_root, path))
        ] for group in alternatives]
        if any(not paths for paths in missing):
            return
        problem = 'missing: ' + ' | or | '.join(
            ', '.join(paths) for paths in missing)
    else:
        problem = 'the folder does not exist'
    raise FileNotFoundError(
        f'{dataset} data_root {data_root!r} is incomplete; {problem}. '
        f'Expected layout:\n{layout}\nPoint data_root at the extracted '
        f'{dataset} folder (--cfg-options '
        'train_dataloader.dataset.data_root=... and the same for '
        'test_dataloader).')


@DATASETS.register_module()
class CheckedCUB(CUB):
    """:class:`mmpretrain.datasets.CUB` that checks ``data_root`` first."""

    def __init__(self, data_root: str, split: str = 'train', **kwargs):
        check_cub_root(data_root)
        super().__init__(data_root=data_root, split=split, **kwargs)


@DATASETS.register_module()
class CheckedStanfordCars(StanfordCars):
    """:class:`mmpretrain.datasets.StanfordCars` that checks ``data_root``."""

    def __init__(self, data_root: str, split: str = 'train', **kwargs):
        devkit = 'cars_test_annos_withlabels.mat' if split == 'test' \
            else 'cars_train_annos.mat'
        check_dataset_root(
            'Stanford Cars', data_root,
            [('cars_annos.mat', 'car_ims'),
             (os.path.join('devkit', devkit), f'cars_{split}')],
            STANFORD_CARS_LAYOUT)
        super().__init__(data_root=data_root, split=split, **kwargs)


@DATASETS.register_module()
class CheckedFGVCAircraft(FGVCAircraft):
    """:class:`mmpretrain.datasets.FGVCAircraft` that checks ``data_root``."""

    def __init__(self, data_root: str, split: str = 'trainval', **kwargs):
        check_dataset_root(
            'FGVC-Aircraft', data_root,
            [(os.path.join('data', 'images'),
              os.path.join('data', f'images_variant_{split}.txt'))],
            FGVC_AIRCRAFT_LAYOUT)
        super().__init__(data_root=data_root, split=split, **kwargs)
