"""Reading CUB-200-2011 annotation files (real CUB or the generated set)."""
import os
from typing import Dict, List

import numpy as np

from .roots import check_dataset_root

CUB_LAYOUT = """\
<data_root>/
  images/<class folder>/<image>.jpg
  images.txt              <image_id> <relative path under images/>
  image_class_labels.txt  <image_id> <class_id, from 1>
  train_test_split.txt    <image_id> <1 = train, 0 = test>
  parts/part_locs.txt     <image_id> <part_id> <x> <y> <visible> (for part scores)"""

REQUIRED_FILES = ('images.txt', 'image_class_labels.txt',
                  'train_test_split.txt')


def check_cub_root(data_root: str, need_parts: bool = False) -> None:
    """Raise FileNotFoundError naming what is missing and the layout expected."""
    required = list(REQUIRED_FILES) + ['images']
    if need_parts:
        required.append(os.path.join('parts', 'part_locs.txt'))
    check_dataset_root(
        'CUB-200-2011', data_root, [required], CUB_LAYOUT,
        'Point data_root at an extracted CUB_200_2011 folder (or run '
        '`python tools/make_synthetic_dataset.py <folder>` to generate a '
        'small one).')


def _read_table(path: str) -> List[List[str]]:
    with open(path) as stream:
        return [line.split() for line in stream if line.strip()]


def load_part_locations(data_root: str) -> Dict[str, np.ndarray]:
    """Visible part centres of every image, keyed by path relative to images/.

    Returns:
        dict: relative image path -> float array K x 2 of (x, y) pixels.
    """
    check_cub_root(data_root, need_parts=True)
    paths = {row[0]: row[1]
             for row in _read_table(os.path.join(data_root, 'images.txt'))}
    parts: Dict[str, list] = {path: [] for path in paths.values()}
    for image_id, _, x, y, visible, *_ in _read_table(
            os.path.join(data_root, 'parts', 'part_locs.txt')):
        if visible == '1' and image_id in paths:
            parts[paths[image_id]].append((float(x), float(y)))
    return {
        path: np.asarray(points, dtype=np.float64).reshape(-1, 2)
        for path, points in parts.items()
    }
