"""The 'two-tone-rim' variant: every object rimmed alike, roles in the order
of the tones, equal pixel counts, re-rendering and interventions."""
import os
from collections import Counter

import numpy as np
import pytest
from PIL import Image

from brnpa_plugins.data import SyntheticPartsConfig, generate_part_dataset
from brnpa_plugins.data.synthetic import (COLOURS, SHAPES, intervene,
                                          load_objects, load_scenes,
                                          render_scene)
from brnpa_plugins.data.two_tone import TONES, rim_halves

TWO_TONE = SyntheticPartsConfig(train_per_class=2, test_per_class=1,
                                image_size=112, part_size=12, distractors=6,
                                variant='two-tone-rim',
                                distractor_colours='complete', seed=3)


@pytest.fixture(scope='module')
def two_tone_root(tmp_path_factory):
    return generate_part_dataset(str(tmp_path_factory.mktemp('t') / 't'),
                                 TWO_TONE)


def tone_pixels(patch: np.ndarray, tone: str) -> np.ndarray:
    return (patch == np.array(TONES[tone])).all(axis=2)


def test_rim_halves_are_disjoint_halves_of_the_rim():
    ring = np.zeros((6, 6), dtype=bool)
    ring[0, :] = ring[-1, :] = ring[:, 0] = True  # 16 pixels
    top, bottom = rim_halves(ring)
    assert top.sum() == bottom.sum() == 8
    assert not (top & bottom).any() and ((top | bottom) == ring).all()
    assert np.nonzero(top)[0].mean() < np.nonzero(bottom)[0].mean()
    ring[2, 5] = True  # odd: the middle pixel is in neither half
    top, bottom = rim_halves(ring)
    assert top.sum() == bottom.sum() == 8 and (ring & ~top & ~bottom).sum() \
        == 1


def test_every_object_holds_the_same_pixels_of_each_tone(two_tone_root):
    """Decisive parts and distractors of a shape have the same number of
    light, dark and coloured pixels; light and dark are equal in every
    object, and the order of the tones is what tells the roles apart."""
    scenes = load_scenes(two_tone_root)
    counts = {}
    for path, scene in scenes.items():
        image = np.asarray(Image.open(os.path.join(two_tone_root, 'images',
                                                   path)).convert('RGB'))
        for item in scene.objects:
            x0, y0, x1, y1 = item.box(TWO_TONE)
            patch = image[y0:y1, x0:x1].astype(int)
            light, dark = tone_pixels(patch, 'light'), tone_pixels(patch,
                                                                   'dark')
            coloured = (patch.max(axis=2) - patch.min(axis=2) > 100).sum()
            assert coloured == round(0.45 * TWO_TONE.part_size**2)
            assert light.sum() == dark.sum() > 0
            counts.setdefault(item.shape, set()).add(
                (int(light.sum()), int(dark.sum()), int(coloured)))
            light_on_top = np.nonzero(light)[0].mean() < \
                np.nonzero(dark)[0].mean()
            assert light_on_top == item.decisive
            # a horizontal flip keeps the role
            flipped = tone_pixels(patch[:, ::-1], 'light')
            assert (np.nonzero(flipped)[0].mean() <
                    np.nonzero(dark)[0].mean()) == item.decisive
    assert set(counts) == set(SHAPES[:TWO_TONE.parts])
    assert all(len(values) == 1 for values in counts.values()), counts


def test_complete_distractors_show_every_look_once(two_tone_root):
    """Every image holds each (shape, colour) exactly once, whatever its
    class: which objects appear together says nothing."""
    looks = {(s, c) for s in SHAPES[:3] for c in list(COLOURS)[:3]}
    for scene in load_scenes(two_tone_root).values():
        shown = Counter((o.shape, o.colour) for o in scene.objects)
        assert set(shown) == looks and set(shown.values()) == {1}
        assert sum(o.decisive for o in scene.objects) == 3


def test_scenes_re_render_the_stored_images(two_tone_root):
    objects = load_objects(two_tone_root)
    for path, scene in load_scenes(two_tone_root).items():
        stored = np.asarray(Image.open(os.path.join(
            two_tone_root, 'images', path)).convert('RGB'))
        assert np.array_equal(stored, render_scene(scene, TWO_TONE))
        boxes, decisive = objects[path]
        assert len(boxes) == 9 and decisive.sum() == 3


def test_demoting_reverses_the_tones_and_swapping_keeps_three_parts(
        two_tone_root):
    """(That an intervention changes only its object's box, on both
    variants: tests/data/test_synthetic.py.)"""
    scene = next(iter(load_scenes(two_tone_root).values()))
    original = render_scene(scene, TWO_TONE)
    for index, item in enumerate(scene.objects):
        if not item.decisive:
            continue
        x0, y0, x1, y1 = item.box(TWO_TONE)
        demoted = render_scene(intervene(scene, index, 'demote'),
                               TWO_TONE)[y0:y1, x0:x1]
        before = original[y0:y1, x0:x1]
        # the tones trade places; their counts stay
        assert tone_pixels(demoted, 'light').sum() == \
            tone_pixels(before, 'light').sum()
        assert (tone_pixels(demoted, 'light') ==
                tone_pixels(before, 'dark')).mean() > 0.95
    decisive = next(k for k, o in enumerate(scene.objects) if o.decisive)
    swapped = intervene(scene, decisive, 'swap')
    assert sum(o.decisive for o in swapped.objects) == 3
    assert not swapped.objects[decisive].decisive
