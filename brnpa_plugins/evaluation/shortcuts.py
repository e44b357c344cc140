"""Can a dataset be solved without the evidence a model is meant to use?

:func:`colour_histogram_accuracy` trains a logistic regression on the
per-channel colour histograms of whole images (no location at all) and
scores it on the test split. On a dataset whose classes are defined by local
evidence, it must stay at chance; if it does not, a model can be right for
the wrong reason and localisation scores mean little.
"""
import os
from typing import NamedTuple

import numpy as np
from PIL import Image

from ..data.cub import check_cub_root


class ShortcutScore(NamedTuple):
    """Test accuracy of a shortcut classifier next to chance."""
    accuracy: float
    chance: float  # share of the most frequent test class
    correct: int
    test_images: int
    train_images: int


def colour_histograms(paths, bins: int = 16) -> np.ndarray:
    """Per-channel histograms (R, G, B concatenated), as image fractions."""
    rows = []
    for path in paths:
        pixels = np.asarray(Image.open(path).convert('RGB'),
                            dtype=np.int64).reshape(-1, 3)
        counts = [np.bincount(pixels[:, c] * bins // 256, minlength=bins)
                  for c in range(3)]
        rows.append(np.concatenate(counts) / len(pixels))
    return np.stack(rows)


def colour_histogram_accuracy(data_root: str, bins: int = 16,
                              seed: int = 0) -> ShortcutScore:
    """Accuracy of a colour-histogram logistic regression on a CUB folder.

    Args:
        data_root: a CUB-200-2011-layout folder (real or generated).
        bins: histogram bins per channel.
        seed: seed of the solver.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler
    check_cub_root(data_root)

    def column(name):
        with open(os.path.join(data_root, name)) as stream:
            return [line.split()[1] for line in stream if line.strip()]

    paths = [os.path.join(data_root, 'images', p)
             for p in column('images.txt')]
    labels = np.array([int(v) for v in column('image_class_labels.txt')])
    train = np.array([v == '1' for v in column('train_test_split.txt')])
    features = StandardScaler().fit_transform(colour_histograms(paths, bins))
    classifier = LogisticRegression(max_iter=2000, random_state=seed)
    classifier.fit(features[train], labels[train])
    predicted = classifier.predict(features[~train])
    correct = int((predicted == labels[~train]).sum())
    test_labels = labels[~train]
    chance = float(np.bincount(test_labels).max() / len(test_labels))
    return ShortcutScore(correct / len(test_labels), chance, correct,
                         len(test_labels), int(train.sum()))
