"""Can a dataset be solved without the evidence a model is meant to use?

Data-only probes: each turns every image into a few features that know
nothing of the decisive evidence, trains a logistic regression on the
training split and scores it on the test split (:func:`probe_accuracy`). On
a dataset whose classes are defined by local evidence, every probe must stay
at chance; if one does not, a model can be right for the wrong reason and
localisation scores mean little.

- :func:`colour_histogram_accuracy`: per-channel colour histograms of the
  whole image (no location at all);
- :func:`patch_statistics_accuracy`: the mean and spread of each channel in
  each cell of a coarse grid (a downsampled image);
- :func:`cooccurrence_accuracy`: on the generated benchmark, which objects
  (shape and colour, whatever their role) appear in the image and which
  appear together, read from its scenes;
- :func:`shortcut_probes`: all of them (the co-occurrence one where the
  scenes exist).

:func:`cue_detector_scores` asks the same of the localisation metrics: how
well do model-free detectors of the benchmark's own cue (white pixels, edge
energy) point at the decisive parts, next to the oracle?
"""
import itertools
import os
from typing import Dict, List, NamedTuple, Tuple

import numpy as np
import torch
from PIL import Image

from ..data import synthetic
from ..data.cub import check_cub_root
from . import ground_truth as gt
from .methods import compute_saliency, cue_detectors
from .methods.controls import IMAGENET_MEAN, IMAGENET_STD
from .statistics import rate_interval


class ShortcutScore(NamedTuple):
    """Test accuracy of a shortcut classifier next to chance."""
    accuracy: float
    chance: float  # share of the most frequent test class
    correct: int
    test_images: int
    train_images: int


def probe_accuracy(features: np.ndarray, labels: np.ndarray,
                   train: np.ndarray, seed: int = 0) -> ShortcutScore:
    """Test accuracy of a logistic regression on standardised features.

    Args:
        features: N x F, one row per image.
        labels: N classes.
        train: N bools, True for the training split (the rest is tested).
        seed: seed of the solver.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler
    features = np.asarray(features, dtype=np.float64)
    labels, train = np.asarray(labels), np.asarray(train, dtype=bool)
    if len(features) != len(labels) or len(labels) != len(train) or \
            not train.any() or train.all():
        raise ValueError(
            f'probe_accuracy needs as many features ({len(features)}), '
            f'labels ({len(labels)}) and split flags ({len(train)}), with '
            'images in both splits')
    scaler = StandardScaler().fit(features[train])
    classifier = LogisticRegression(max_iter=2000, random_state=seed)
    classifier.fit(scaler.transform(features[train]), labels[train])
    predicted = classifier.predict(scaler.transform(features[~train]))
    test_labels = labels[~train]
    correct = int((predicted == test_labels).sum())
    chance = float(np.bincount(test_labels).max() / len(test_labels))
    return ShortcutScore(correct / len(test_labels), chance, correct,
                         len(test_labels), int(train.sum()))


def _split(data_root: str) -> Tuple[List[str], np.ndarray, np.ndarray]:
    """Image paths relative to ``images/``, labels and training flags."""
    check_cub_root(data_root)

    def column(name):
        with open(os.path.join(data_root, name)) as stream:
            return [line.split()[1] for line in stream if line.strip()]

    labels = np.array([int(v) for v in column('image_class_labels.txt')])
    train = np.array([v == '1' for v in column('train_test_split.txt')])
    return column('images.txt'), labels, train


def _pixels(data_root: str, path: str) -> np.ndarray:
    return np.asarray(Image.open(os.path.join(data_root, 'images', path))
                      .convert('RGB'), dtype=np.int64)


def colour_histograms(pixels: np.ndarray, bins: int = 16) -> np.ndarray:
    """Per-channel histograms (R, G, B concatenated) of an H x W x 3 uint8
    image, as image fractions."""
    flat = pixels.reshape(-1, 3)
    counts = [np.bincount(flat[:, c] * bins // 256, minlength=bins)
              for c in range(3)]
    return np.concatenate(counts) / len(flat)


def patch_statistics(pixels: np.ndarray, grid: int = 8) -> np.ndarray:
    """Mean and standard deviation of each channel in each cell of a
    ``grid`` x ``grid`` division of an H x W x 3 image."""
    height, width = pixels.shape[:2]
    rows = np.array_split(np.arange(height), grid)
    cols = np.array_split(np.arange(width), grid)
    cells = [pixels[r[0]:r[-1] + 1, c[0]:c[-1] + 1].reshape(-1, 3)
             for r in rows for c in cols]
    return np.concatenate([np.concatenate([cell.mean(axis=0),
                                           cell.std(axis=0)])
                           for cell in cells])


def _image_probe(data_root: str, describe, seed: int) -> ShortcutScore:
    paths, labels, train = _split(data_root)
    features = np.stack([describe(_pixels(data_root, p)) for p in paths])
    return probe_accuracy(features, labels, train, seed)


def colour_histogram_accuracy(data_root: str, bins: int = 16,
                              seed: int = 0) -> ShortcutScore:
    """Accuracy of a colour-histogram logistic regression on a CUB folder.

    Args:
        data_root: a CUB-200-2011-layout folder (real or generated).
        bins: histogram bins per channel.
        seed: seed of the solver.
    """
    return _image_probe(data_root,
                        lambda pixels: colour_histograms(pixels, bins), seed)


def patch_statistics_accuracy(data_root: str, grid: int = 8,
                              seed: int = 0) -> ShortcutScore:
    """Accuracy of a logistic regression on :func:`patch_statistics` (a
    downsampled image with the spread of each cell) of a CUB folder."""
    return _image_probe(data_root,
                        lambda pixels: patch_statistics(pixels, grid), seed)


def object_cooccurrence(scene: 'synthetic.Scene', looks) -> np.ndarray:
    """How often each look (shape, colour) appears in ``scene``, whatever
    the objects' roles, then for each pair of looks whether both do."""
    counts = np.zeros(len(looks))
    for item in scene.objects:
        counts[looks.index((item.shape, item.colour))] += 1
    present = counts > 0
    pairs = [present[a] & present[b]
             for a, b in itertools.combinations(range(len(looks)), 2)]
    return np.concatenate([counts, np.array(pairs, dtype=np.float64)])


def cooccurrence_accuracy(data_root: str, seed: int = 0) -> ShortcutScore:
    """Accuracy of a logistic regression on the objects an image of the
    generated benchmark holds and on which of them appear together
    (:func:`object_cooccurrence`), read from its ``scenes.jsonl``: a
    classifier that sees every object but not which ones are decisive."""
    paths, labels, train = _split(data_root)
    config = synthetic.load_config(data_root)
    scenes = synthetic.load_scenes(data_root)
    looks = [(shape, colour)
             for shape in synthetic.SHAPES[:config.parts]
             for colour in list(synthetic.COLOURS)[:config.parts]]
    features = np.stack([object_cooccurrence(scenes[p], looks)
                         for p in paths])
    return probe_accuracy(features, labels, train, seed)


def shortcut_probes(data_root: str,
                    seed: int = 0) -> Dict[str, ShortcutScore]:
    """Every data-only probe of a CUB folder, by name; the co-occurrence
    probe only on a generated benchmark (a folder with ``scenes.jsonl``)."""
    probes = {
        'colour histogram': colour_histogram_accuracy(data_root, seed=seed),
        'patch statistics': patch_statistics_accuracy(data_root, seed=seed),
    }
    if os.path.isfile(os.path.join(data_root, synthetic.SCENES_FILE)):
        probes['co-occurrence'] = cooccurrence_accuracy(data_root, seed)
    return probes


def probe_table(probes: Dict[str, ShortcutScore]) -> str:
    """The probes as a markdown table, each with its exact 95% interval
    (Clopper-Pearson) next to chance."""
    lines = ['| probe | test accuracy [95% interval] | chance | test images |',
             '|---|---|---|---|']
    for name, score in probes.items():
        interval = rate_interval(score.correct, score.test_images)
        lines.append(f'| {name} | {score.accuracy:.3f} [{interval.low:.3f}, '
                     f'{interval.high:.3f}] | {score.chance:.3f} | '
                     f'{score.test_images} |')
    return '\n'.join(lines) + '\n'


class CueScore(NamedTuple):
    """How a map that runs no model scores on the decisive parts."""
    pointing: float  # share of images whose peak lies on a decisive part
    energy: float  # mean share of the map's mass in the decisive boxes
    #: mean mass per decisive box over mean mass per distractor box
    ratio: float


def cue_detector_scores(data_root: str, stride: int = 8,
                        methods=None) -> Dict[str, CueScore]:
    """Pointing, energy and decisive / distractor mass ratio of model-free
    maps on the test images of a generated benchmark.

    Args:
        data_root: a folder made by
            :func:`~brnpa_plugins.data.synthetic.generate_part_dataset`.
        stride: cell size of the maps (8: the demo models' grid; 1: pixels).
        methods: control names; default every registered cue detector
            (:func:`~.methods.cue_detectors`, by name), then the oracle.
    """
    paths, _, train = _split(data_root)
    config = synthetic.load_config(data_root)
    objects = synthetic.load_objects(data_root)
    tested = [p for p, t in zip(paths, train) if not t]
    pixels = torch.from_numpy(np.stack([_pixels(data_root, p)
                                        for p in tested]))
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    images = (pixels.permute(0, 3, 1, 2).float() - mean) / std
    truth = gt.GroundTruth.from_objects([objects[p] for p in tested])
    size = tuple(images.shape[-2:])
    names = methods or sorted(cue_detectors()) + ['oracle']
    scores = {}
    for name in names:
        maps = compute_saliency(name, None, images, None, stride=stride,
                                ground_truth=truth)
        mass = gt.object_mass(maps, truth, size)
        distractors = ~truth.decisive & truth.valid
        with np.errstate(divide='ignore'):
            ratio = float(np.divide(float(mass[truth.decisive].nanmean()),
                                    float(mass[distractors].nanmean())))
        scores[name] = CueScore(
            float(gt.decisive_pointing(maps, truth, size,
                                       config.part_size / 4).nanmean()),
            float(gt.decisive_energy(maps, truth, size).nanmean()), ratio)
    return scores


def cue_table(scores: Dict[str, CueScore], stride: int) -> str:
    """:func:`cue_detector_scores` as a markdown table."""
    lines = [f'| map ({stride} px cells) | GT_POINTING | GT_ENERGY | '
             'decisive / distractor mass |', '|---|---|---|---|']
    lines += [f'| {name} | {s.pointing:.3f} | {s.energy:.3f} | '
              f'{s.ratio:.3f} |' for name, s in scores.items()]
    return '\n'.join(lines) + '\n'
