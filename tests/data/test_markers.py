"""The planted shortcut: a class-coded corner marker, present, removed or
recoded in the test split, its records and its intervention."""
import os
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from brnpa_plugins.data import SyntheticPartsConfig, generate_part_dataset
from brnpa_plugins.data.markers import marker_box, paint_marker
from brnpa_plugins.data.synthetic import (edit_shortcut, intervene,
                                          load_config, load_scenes,
                                          load_shortcuts, render_scene)

MARKED = SyntheticPartsConfig(train_per_class=2, test_per_class=2,
                              image_size=96, part_size=12, distractors=6,
                              variant='two-tone-rim',
                              distractor_colours='complete',
                              shortcut='marker', seed=5)


@pytest.fixture(scope='module')
def roots(tmp_path_factory):
    """The same dataset with the test markers present, removed, recoded."""
    base = tmp_path_factory.mktemp('m')
    return {test: generate_part_dataset(str(base / test),
                                        replace(MARKED, shortcut_test=test))
            for test in ('present', 'removed', 'recoded')}


def image(root, path):
    return np.asarray(Image.open(os.path.join(root, 'images', path))
                      .convert('RGB'))


def split(root):
    with open(os.path.join(root, 'images.txt')) as stream:
        paths = dict(line.split() for line in stream)
    with open(os.path.join(root, 'train_test_split.txt')) as stream:
        return {paths[i]: flag == '1' for i, flag in
                (line.split() for line in stream)}


def test_markers_spell_the_class_on_training_images(roots):
    for test, root in roots.items():
        scenes, shortcuts = load_scenes(root), load_shortcuts(root)
        assert set(shortcuts) == set(scenes)
        for path, train in split(root).items():
            box, code = shortcuts[path]
            label = scenes[path].label
            assert tuple(box) == marker_box(MARKED.part_size)
            if train or test == 'present':
                assert code == label
            elif test == 'removed':
                assert code == -1
            else:
                assert 0 <= code < MARKED.num_classes and code != label
            assert code == (-1 if scenes[path].marker is None
                            else scenes[path].marker)


def test_the_marker_is_drawn_in_its_box_only(roots):
    x0, y0, x1, y1 = marker_box(MARKED.part_size)
    root = roots['present']
    for path, scene in load_scenes(root).items():
        pixels = image(root, path)
        expected = pixels.copy()
        paint_marker(expected, (x0, y0, x1, y1), scene.label)
        assert np.array_equal(pixels, expected)
        for item in scene.objects:  # objects keep clear of the marker
            ox0, oy0, ox1, oy1 = item.box(MARKED)
            assert ox0 >= x1 + MARKED.gap or oy0 >= y1 + MARKED.gap
    codes = {load_scenes(root)[p].label: image(root, p)[y0:y1, x0:x1]
             for p in load_scenes(root)}
    assert len({patch.tobytes() for patch in codes.values()}) == \
        MARKED.num_classes  # one look per class


def test_test_images_differ_from_the_present_ones_in_the_marker_only(roots):
    x0, y0, x1, y1 = marker_box(MARKED.part_size)
    present = roots['present']
    for test in ('removed', 'recoded'):
        for path, train in split(present).items():
            a, b = image(present, path), image(roots[test], path)
            differs = (a != b).any(axis=2)
            assert differs[y0:y1, x0:x1].sum() == differs.sum()
            assert (differs.sum() > 0) == (not train)


def test_edit_shortcut_re_renders_each_test_split(roots):
    present = load_scenes(roots['present'])
    for test in ('present', 'removed', 'recoded'):
        config = load_config(roots[test])
        assert config.shortcut_test == test
        for path, train in split(roots[test]).items():
            if train:
                continue
            edited = edit_shortcut(present[path], test, config)
            assert edited == load_scenes(roots[test])[path]
            assert np.array_equal(render_scene(edited, config),
                                  image(roots[test], path))
    # the marker survives object interventions
    scene = next(iter(present.values()))
    assert intervene(scene, 0).marker == scene.marker


def test_shortcut_errors_name_the_fix(roots, tmp_path):
    scene = next(iter(load_scenes(roots['present']).values()))
    with pytest.raises(ValueError, match='one of'):
        edit_shortcut(scene, 'hidden', MARKED)
    with pytest.raises(ValueError, match="shortcut='marker'"):
        edit_shortcut(scene, 'removed', replace(MARKED, shortcut='none'))
    with pytest.raises(ValueError, match='codes 0 to 511'):
        paint_marker(np.zeros((8, 8, 3)), marker_box(12), 512)
    plain = generate_part_dataset(
        str(tmp_path / 'plain'),
        SyntheticPartsConfig(num_classes=2, train_per_class=1,
                             test_per_class=1))
    with pytest.raises(FileNotFoundError, match="shortcut='marker'"):
        load_shortcuts(plain)
    assert not os.path.exists(os.path.join(plain, 'shortcuts.txt'))
