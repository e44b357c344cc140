"""Interventions on generated scenes: what each model's prediction follows."""
import numpy as np
import pytest

from brnpa_plugins.data import synthetic
from brnpa_plugins.evaluation.interventions import (INTERVENTIONS,
                                                    InterventionTally,
                                                    intervened, scene_class)

CONFIG = synthetic.SyntheticPartsConfig(train_per_class=1, test_per_class=2)


def scenes(count=12):
    return [synthetic.make_scene(CONFIG, i, f'{i}.png',
                                 i % CONFIG.num_classes)
            for i in range(count)]


def rim_pixels(image):
    return int((image == 255).all(-1).sum())


def test_every_scene_shows_its_own_class():
    for scene in scenes():
        assert scene_class(scene, CONFIG) == scene.label


def test_removals_and_demotions_leave_no_decisive_object():
    for scene in scenes():
        for name in ('decisive removed', 'decisive demoted'):
            changed, label = intervened(scene, name, CONFIG)
            assert label is None
            assert not any(o.decisive for o in changed.objects)
            assert scene_class(changed, CONFIG) is None
        kept, label = intervened(scene, 'distractors removed', CONFIG)
        assert label == scene.label
        assert all(o.decisive for o in kept.objects)
        assert len(kept.objects) == CONFIG.parts
        removed, _ = intervened(scene, 'decisive removed', CONFIG)
        assert rim_pixels(synthetic.render_scene(removed, CONFIG)) == 0


def test_swapped_roles_show_the_distractors_class_and_move_the_rims():
    shown = []
    for scene in scenes():
        swapped, label = intervened(scene, 'roles swapped', CONFIG)
        promoted = [o for o in swapped.objects if o.decisive]
        assert len(promoted) == CONFIG.parts
        assert not any(o.decisive for o, was in
                       zip(swapped.objects, scene.objects) if was.decisive)
        assert label == scene_class(swapped, CONFIG) is not None
        shown.append(label)
        # the rims moved: as many rim pixels, none on the old parts
        before = synthetic.render_scene(scene, CONFIG)
        after = synthetic.render_scene(swapped, CONFIG)
        assert abs(rim_pixels(after) - rim_pixels(before)) <= \
            0.25 * rim_pixels(before)
        for item in scene.objects:
            if item.decisive:
                x0, y0, x1, y1 = item.box(CONFIG)
                assert rim_pixels(after[y0:y1, x0:x1]) == 0
    # the distractors are drawn independently of the class
    assert len(set(shown)) > 1


def test_tally_counts_a_model_that_follows_the_rims():
    tally = InterventionTally(CONFIG)
    batch = scenes()
    images, targets = tally.render(batch)
    assert len(images) == (len(INTERVENTIONS) - 2) * len(batch)
    # a "model" that reads the class off the decisive objects, and guesses
    # 0 when none is left
    predicted = {}
    for name in tally.names:
        shown = [scene_class(intervened(s, name, CONFIG)[0], CONFIG)
                 for s in batch]
        predicted[name] = np.array([0 if c is None else c for c in shown])
    tally.add('reader', predicted, targets)
    tally.add('constant', {n: np.zeros(len(batch), int)
                           for n in tally.names}, targets)
    rows = {(r['model'], r['intervention']): r for r in tally.rows()}
    for name in ('as rendered', 'distractors removed', 'roles swapped'):
        assert rows['reader', name]['rate'] == 1.0
        assert rows['reader', name]['images'] == len(batch)
    # with no class left the reader keeps the original class only by luck
    assert rows['reader', 'decisive removed']['rate'] == pytest.approx(
        np.mean([s.label == 0 for s in batch]))
    assert rows['constant', 'as rendered']['rate'] == pytest.approx(
        np.mean([s.label == 0 for s in batch]))
    low, high = rows['reader', 'as rendered']['low'], 1.0
    assert 0 < low < high
    text = tally.markdown()
    assert '| reader | 1.000 [' in text and '| constant |' in text
    assert text.count('\n| ') == 3  # header and two models


def test_unknown_interventions_are_named():
    with pytest.raises(ValueError, match="unknown interventions .'rotate'"):
        InterventionTally(CONFIG, ['rotate'])
    with pytest.raises(ValueError, match="unknown intervention 'rotate'"):
        intervened(scenes(1)[0], 'rotate', CONFIG)


def test_marker_interventions_only_on_a_dataset_with_a_marker():
    assert 'marker removed' not in InterventionTally(CONFIG).names
    with pytest.raises(ValueError, match="shortcut='marker'"):
        InterventionTally(CONFIG, ['marker recoded'])
    marked = synthetic.SyntheticPartsConfig(train_per_class=1,
                                            test_per_class=2,
                                            shortcut='marker')
    tally = InterventionTally(marked)
    assert tally.names[-2:] == ['marker removed', 'marker recoded']
    batch = [synthetic.make_scene(marked, i, f'{i}.png',
                                  i % marked.num_classes) for i in range(6)]
    for scene in batch:
        assert scene.marker == scene.label
        removed, label = intervened(scene, 'marker removed', marked)
        assert removed.marker is None and label == scene.label
        recoded, label = intervened(scene, 'marker recoded', marked)
        assert recoded.marker not in (None, scene.label)
        assert label == scene.label and recoded.objects == scene.objects
    # a "model" that reads the marker: right as rendered, never right with
    # the marker recoded
    images, targets = tally.render(batch)
    predicted = {name: np.array([
        intervened(s, name, marked)[0].marker or 0 for s in batch])
        for name in tally.names}
    tally.add('marker reader', predicted, targets)
    rows = {r['intervention']: r['rate'] for r in tally.rows()}
    assert rows['as rendered'] == 1.0 and rows['marker recoded'] == 0.0
    assert 'reads the marker falls' in tally.markdown()
