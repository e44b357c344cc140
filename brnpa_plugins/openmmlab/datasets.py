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
from ..data.roots import check_dataset_root

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


def check_config_root(dataset: str, data_root: str,
                      layouts: Sequence[Tuple[str, ...]],
                      expected: str) -> None:
    """:func:`~brnpa_plugins.data.roots.check_dataset_root` with the fix of
    an mmpretrain config."""
    check_dataset_root(
        dataset, data_root, layouts, expected,
        f'Point data_root at the extracted {dataset} folder (--cfg-options '
        'train_dataloader.dataset.data_root=... and the same for '
        'test_dataloader).')


@DATASETS.register_module()
class CheckedCUB(CUB):
    """:class:`mmpretrain.datasets.CUB` that checks ``data_root`` first.

    A relative ``classes`` file is read from ``data_root`` (e.g.
    ``classes='class_names.txt'`` of the generated benchmark), so that it
    follows an overridden ``data_root``.
    """

    def __init__(self, data_root: str, split: str = 'train',
                 classes=None, **kwargs):
        check_cub_root(data_root)
        if isinstance(classes, str) and not os.path.isabs(classes):
            classes = os.path.join(data_root, classes)
            if not os.path.isfile(classes):
                raise FileNotFoundError(
                    f'CheckedCUB: the classes file {classes} (classes '
                    f'relative to data_root={data_root!r}) does not exist; '
                    'point data_root at the generated folder (it holds '
                    'class_names.txt) or set classes=None for the 200 CUB '
                    'classes.')
        super().__init__(data_root=data_root, split=split, classes=classes,
                         **kwargs)


@DATASETS.register_module()
class CheckedStanfordCars(StanfordCars):
    """:class:`mmpretrain.datasets.StanfordCars` that checks ``data_root``."""

    def __init__(self, data_root: str, split: str = 'train', **kwargs):
        devkit = 'cars_test_annos_withlabels.mat' if split == 'test' \
            else 'cars_train_annos.mat'
        check_config_root(
            'Stanford Cars', data_root,
            [('cars_annos.mat', 'car_ims'),
             (os.path.join('devkit', devkit), f'cars_{split}')],
            STANFORD_CARS_LAYOUT)
        super().__init__(data_root=data_root, split=split, **kwargs)


@DATASETS.register_module()
class CheckedFGVCAircraft(FGVCAircraft):
    """:class:`mmpretrain.datasets.FGVCAircraft` that checks ``data_root``."""

    def __init__(self, data_root: str, split: str = 'trainval', **kwargs):
        check_config_root(
            'FGVC-Aircraft', data_root,
            [(os.path.join('data', 'images'),
              os.path.join('data', f'images_variant_{split}.txt'))],
            FGVC_AIRCRAFT_LAYOUT)
        super().__init__(data_root=data_root, split=split, **kwargs)
