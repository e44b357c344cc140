import filecmp
import hashlib
import json
import os
from collections import Counter
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from brnpa_plugins.data import (SyntheticPartsConfig, check_cub_root,
                                class_names, generate_part_dataset,
                                load_part_locations)
from brnpa_plugins.data.synthetic import (MANIFEST, SHAPES,
                                          class_assignments, intervene,
                                          load_config, load_objects,
                                          load_scenes, render_scene,
                                          shape_mask)

SMALL = SyntheticPartsConfig(num_classes=4, train_per_class=2,
                             test_per_class=2, image_size=64, part_size=12,
                             distractors=3, seed=7)


@pytest.fixture(scope='module')
def small_root(tmp_path_factory):
    return generate_part_dataset(str(tmp_path_factory.mktemp('d') / 'd'),
                                 SMALL)


def test_same_seed_same_files(tmp_path, small_root):
    other = generate_part_dataset(str(tmp_path / 'b'), SMALL)
    for name in ('images.txt', 'parts/part_locs.txt', 'objects.txt',
                 'scenes.jsonl', 'bounding_boxes.txt'):
        assert filecmp.cmp(os.path.join(small_root, name),
                           os.path.join(other, name), shallow=False)
    with open(os.path.join(small_root, 'images.txt')) as stream:
        first = stream.readline().split()[1]
    assert filecmp.cmp(os.path.join(small_root, 'images', first),
                       os.path.join(other, 'images', first), shallow=False)


def test_the_default_variant_writes_the_files_it_always_wrote(small_root):
    """The variants and the shortcut option leave the default dataset bit
    for bit as it was (this digest was taken before they existed), and its
    manifest names no option."""
    digest = hashlib.sha256()
    for folder, _, files in sorted(os.walk(small_root)):
        for name in sorted(files):
            path = os.path.join(folder, name)
            digest.update(os.path.relpath(path, small_root).encode())
            with open(path, 'rb') as stream:
                digest.update(stream.read())
    assert digest.hexdigest() == ('93a87032a7b69da6cb535e8ff452338ca453a9cf'
                                  '338f6dafe2c757d7fbdaa24b')
    with open(os.path.join(small_root, MANIFEST)) as stream:
        assert 'variant' not in json.load(stream)


def test_loads_through_mmpretrain_cub(small_root):
    from mmpretrain.datasets import CUB
    train = CUB(data_root=small_root, split='train',
                classes=f'{small_root}/class_names.txt')
    test = CUB(data_root=small_root, split='test',
               classes=f'{small_root}/class_names.txt')
    assert len(train) == 8 and len(test) == 8
    assert train.CLASSES == tuple(class_names(SMALL))
    assert sorted({train.get_gt_labels()[i] for i in range(8)}) == [0, 1, 2,
                                                                   3]
    assert os.path.isfile(train[0]['img_path'])
    assert load_config(small_root) == SMALL


def test_every_shape_covers_the_same_number_of_pixels():
    for size in (12, 16, 24):
        areas = {shape: int(shape_mask(shape, size).sum()) for shape in SHAPES}
        assert len(set(areas.values())) == 1, areas
    # and the shapes differ
    masks = [shape_mask(shape, 16) for shape in SHAPES]
    assert all((a != b).sum() > 10 for i, a in enumerate(masks)
               for b in masks[i + 1:])


def test_classes_are_colourings_of_the_same_parts():
    default = SyntheticPartsConfig()
    assert len(class_assignments(default)) == 6
    assert len(set(class_assignments(default))) == 6
    for assignment in class_assignments(SMALL):
        assert sorted(assignment) == list(range(SMALL.parts))


def test_every_image_holds_each_shape_and_colour_equally(small_root):
    """Decisive parts show every shape and colour once, and so do the
    distractors: colour and shape counts are the same in every image."""
    counts = set()
    for scene in load_scenes(small_root).values():
        for decisive in (True, False):
            objects = [o for o in scene.objects if o.decisive == decisive]
            counts.add((decisive,
                        tuple(sorted(Counter(o.shape for o in objects)
                                     .items())),
                        tuple(sorted(Counter(o.colour for o in objects)
                                     .items()))))
    assert len(counts) == 2  # one pattern for the parts, one for distractors


def test_ground_truth_files_agree_with_the_pixels(small_root):
    scenes = load_scenes(small_root)
    objects = load_objects(small_root)
    parts = load_part_locations(small_root)
    assert set(scenes) == set(objects) == set(parts)
    for path, scene in scenes.items():
        boxes, decisive = objects[path]
        assert decisive.sum() == SMALL.parts
        assert len(decisive) == SMALL.parts + SMALL.distractors
        image = np.asarray(Image.open(os.path.join(small_root, 'images',
                                                   path)).convert('RGB'))
        assert np.array_equal(image, render_scene(scene, SMALL))
        for (x0, y0, x1, y1), flag in zip(boxes.astype(int), decisive):
            patch = image[y0:y1, x0:x1].astype(int)
            white = (patch.min(axis=2) == 255).sum()
            saturated = (patch.max(axis=2) - patch.min(axis=2) > 100).sum()
            assert saturated == round(0.45 * SMALL.part_size**2)
            assert (white > 0) == flag  # only decisive parts have a rim
        centres = (boxes[decisive, :2] + boxes[decisive, 2:]) / 2
        assert sorted(map(tuple, parts[path])) == sorted(map(tuple, centres))


@pytest.mark.parametrize('variant', ['white-rim', 'two-tone-rim'])
def test_an_intervention_changes_only_its_object(variant, small_root,
                                                 tmp_path):
    config = replace(SMALL, variant=variant)
    root = small_root if variant == SMALL.variant else \
        generate_part_dataset(str(tmp_path / variant), config)
    scene = next(iter(load_scenes(root).values()))
    original = render_scene(scene, config)
    for index, item in enumerate(scene.objects):
        x0, y0, x1, y1 = item.box(config)
        for action in ('remove', 'demote'):
            changed = render_scene(intervene(scene, index, action), config)
            differs = np.argwhere((changed != original).any(axis=2))
            assert len(differs) > 0 or (action == 'demote' and
                                        not item.decisive)
            assert (differs[:, 0] >= y0).all() and (differs[:, 0] < y1).all()
            assert (differs[:, 1] >= x0).all() and (differs[:, 1] < x1).all()
    with pytest.raises(ValueError, match="one of .*'swap'"):
        intervene(scene, 0, 'move')
    with pytest.raises(IndexError, match='out of range'):
        intervene(scene, len(scene.objects))


def test_swapping_every_decisive_part_hands_the_roles_to_distractors(
        small_root):
    scene = next(iter(load_scenes(small_root).values()))
    swapped = scene
    for index, item in enumerate(scene.objects):
        if item.decisive:
            swapped = intervene(swapped, index, 'swap')
    for shape in SHAPES[:SMALL.parts]:
        before = [o.decisive for o in scene.objects if o.shape == shape]
        after = [o.decisive for o in swapped.objects if o.shape == shape]
        assert sorted(before) == sorted(after) == [False, True]
        assert before != after
    assert [(o.shape, o.colour, o.top) for o in scene.objects] == \
        [(o.shape, o.colour, o.top) for o in swapped.objects]
    # the pixels change on the rims of the swapped objects only
    changed = (render_scene(swapped, SMALL) !=
               render_scene(scene, SMALL)).any(axis=2)
    outside = changed.copy()
    for item in scene.objects:
        x0, y0, x1, y1 = item.box(SMALL)
        outside[y0:y1, x0:x1] = False
    assert changed.sum() > 0 and not outside.any()
    lonely = intervene(scene, next(k for k, o in enumerate(scene.objects)
                                   if not o.decisive), 'remove')
    shape = next(o.shape for o in scene.objects if not o.decisive)
    decisive = next(k for k, o in enumerate(lonely.objects)
                    if o.shape == shape and o.decisive)
    with pytest.raises(ValueError, match='no object of the same shape'):
        intervene(lonely, decisive, 'swap')


def test_a_colour_histogram_classifier_stays_at_chance(tmp_path):
    """Global colour statistics carry no class information (issue: no
    shortcuts); the README reports the number of the default dataset."""
    from brnpa_plugins.evaluation.shortcuts import colour_histogram_accuracy
    config = SyntheticPartsConfig(train_per_class=60, test_per_class=60)
    root = generate_part_dataset(str(tmp_path / 'shortcut'), config)
    score = colour_histogram_accuracy(root)
    assert score.test_images == 360 and score.chance == pytest.approx(1 / 6)
    assert abs(score.accuracy - score.chance) <= 0.05, score


def test_the_shortcut_check_catches_a_colour_coded_dataset(small_root,
                                                           tmp_path):
    """The check can fail: paint each class's images in its own tint."""
    import shutil
    from brnpa_plugins.evaluation.shortcuts import colour_histogram_accuracy
    root = shutil.copytree(small_root, tmp_path / 'tinted')
    for path, scene in load_scenes(str(root)).items():
        file = os.path.join(root, 'images', path)
        pixels = np.asarray(Image.open(file), dtype=np.int64)
        pixels[..., scene.label % 3] = np.minimum(
            pixels[..., scene.label % 3] + 40 * (1 + scene.label // 3), 255)
        Image.fromarray(pixels.astype(np.uint8)).save(file)
    assert colour_histogram_accuracy(str(root)).accuracy >= 0.75


def test_existing_folder_with_other_config_is_refused(tmp_path):
    root = str(tmp_path / 'd')
    generate_part_dataset(root, SMALL)
    other = SyntheticPartsConfig(**{**SMALL.__dict__, 'seed': 8})
    with pytest.raises(FileExistsError, match='overwrite'):
        generate_part_dataset(root, other)
    generate_part_dataset(root, other, overwrite=True)
    assert sorted(p for p in os.listdir(tmp_path)) == ['d']


def test_interrupted_generation_leaves_nothing(tmp_path, monkeypatch):
    from brnpa_plugins.data import synthetic

    def broken(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(synthetic, 'render_scene', broken)
    with pytest.raises(KeyboardInterrupt):
        generate_part_dataset(str(tmp_path / 'd'), SMALL)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize('change, word', [(dict(num_classes=7), 'num_classes'),
                                          (dict(parts=5), 'parts'),
                                          (dict(part_size=40), 'part_size'),
                                          (dict(distractors=30), 'fit'),
                                          (dict(test_per_class=0),
                                           'test_per_class'),
                                          (dict(seed='0'), 'seed'),
                                          (dict(variant='rim'), 'variant'),
                                          (dict(distractor_colours='all'),
                                           'distractor_colours'),
                                          (dict(distractor_colours='complete'),
                                           'distractors=6'),
                                          (dict(shortcut='corner'),
                                           'shortcut must'),
                                          (dict(shortcut_test='removed'),
                                           "shortcut='marker'")])
def test_bad_config_values_are_named(change, word, tmp_path):
    config = SyntheticPartsConfig(**{**SMALL.__dict__, **change})
    with pytest.raises(ValueError, match=word):
        generate_part_dataset(str(tmp_path / 'd'), config)


def test_missing_cub_root_names_the_layout(tmp_path):
    with pytest.raises(FileNotFoundError,
                       match=r'(?s)missing .*images.txt.*Expected layout'):
        check_cub_root(str(tmp_path))


def test_the_tool_takes_every_option_and_names_a_bad_one(tmp_path):
    import subprocess
    import sys
    repo = os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))
    common = [sys.executable, 'tools/make_synthetic_dataset.py',
              '--num-classes', '2', '--train-per-class', '1',
              '--test-per-class', '1', '--variant', 'two-tone-rim',
              '--shortcut', 'marker', '--shortcut-test', 'recoded']
    result = subprocess.run(common + [str(tmp_path / 'd')], cwd=repo,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    config = load_config(str(tmp_path / 'd'))
    assert (config.variant, config.shortcut, config.shortcut_test,
            config.num_classes) == ('two-tone-rim', 'marker', 'recoded', 2)
    bad = subprocess.run(common + ['--distractor-colours', 'complete',
                                   str(tmp_path / 'e')], cwd=repo,
                         capture_output=True, text=True)
    assert bad.returncode == 2 and 'set distractors=6' in bad.stderr
