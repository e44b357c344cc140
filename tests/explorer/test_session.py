"""The explorer's computations, called directly (no page)."""
import io
import threading
import time

import numpy as np
import pytest
import torch
from PIL import Image

from brnpa_plugins.data import synthetic
from brnpa_plugins.evaluation import ground_truth as gt
from brnpa_plugins.evaluation.methods import saliency_methods
from brnpa_plugins.explorer import session
from brnpa_plugins.explorer.session import (Cancelled, Explorer,
                                            ExplorerError)


@pytest.fixture(scope='module')
def explorer(loaded):
    return Explorer(loaded)


def first_sample(explorer):
    return next(iter(explorer.samples))


def test_explanation_of_a_sample(explorer, loaded):
    view = explorer.sample(first_sample(explorer))
    explanation = view.explanation
    result = explanation.result
    assert explanation.image.shape == (96, 96, 3)
    assert result['attention_maps'].shape == (3, 12, 12)
    assert result['ranked_maps'].shape == (3, 96, 96)
    # top-5: the five most probable classes, most probable first
    probabilities = [p for _, p in explanation.top5]
    assert len(probabilities) == 5
    assert probabilities == sorted(probabilities, reverse=True)
    assert explanation.top5[0][0] == loaded.classes[explanation.label]
    assert view.top5 == dict(explanation.top5)
    # the contributions are the logit of the predicted class (no bias)
    with torch.no_grad():
        logits = loaded.model(explanation.inputs)[0].double()
    assert result['pred_contributions'].sum() == pytest.approx(
        float(logits[explanation.label]), abs=1e-4)
    assert sorted(row[2] for row in view.contributions) == sorted(
        round(float(c), 3) for c in result['pred_contributions'])
    # ranked by activity, rank 1 first
    activities = [row[1] for row in view.contributions]
    assert activities == sorted(activities, reverse=True)
    # figure: image, overlay, 3 maps and the colour bar, 2x upscaled
    assert explanation.figure.height == 192
    assert explanation.figure.width > 5 * 192
    # the display is upscaled with the outlines drawn on it
    assert view.display.shape == (288, 288, 3) and view.scale == 3
    assert (view.display == (0, 255, 0)).all(axis=-1).any()
    assert set(explanation.scores) == set(session.OWN_MAPS.values())
    assert 'BR-NPA top map' in view.scores


def test_one_explanation_takes_well_under_a_second(explorer):
    name = first_sample(explorer)
    explorer.sample(name)
    start = time.perf_counter()
    explorer.sample(name)
    assert time.perf_counter() - start < 0.5


def test_removing_an_object_is_the_model_on_the_re_rendered_scene(
        explorer, loaded):
    view = explorer.sample(first_sample(explorer))
    scene = view.current.scene
    changed = explorer.intervene(view.current, 0, 'remove')
    assert len(changed.current.scene.objects) == len(scene.objects) - 1
    assert len(changed.objects) == len(scene.objects) - 1
    assert 'after remove' in changed.prediction
    offline = synthetic.render_scene(synthetic.intervene(scene, 0),
                                     session.BENCHMARK)
    [expected] = loaded.inferencer(np.ascontiguousarray(offline[..., ::-1]))
    np.testing.assert_array_equal(changed.explanation.image, offline)
    np.testing.assert_allclose(
        [p for _, p in changed.explanation.top5],
        np.sort(expected['pred_scores'])[::-1][:5], rtol=1e-6)
    assert changed.top5 != view.top5
    demoted = explorer.intervene(view.current, 1, 'demote')
    assert not demoted.current.scene.objects[1].decisive
    again = explorer.reset(demoted.current)
    assert again.current.scene == scene and again.top5 == view.top5


def test_intervention_errors_are_explorer_errors(explorer):
    view = explorer.sample(first_sample(explorer))
    with pytest.raises(ExplorerError, match='does not exist'):
        explorer.intervene(view.current, 99)
    with pytest.raises(ExplorerError, match="action must be one of"):
        explorer.intervene(view.current, 0, 'shrink')
    with pytest.raises(ExplorerError, match='samples only'):
        explorer.intervene(explorer.upload(np.zeros((32, 32, 3),
                                                    np.uint8)).current, 0)
    with pytest.raises(ExplorerError, match='unknown sample'):
        explorer.sample('no such sample')


def test_scores_follow_the_ground_truth():
    truth = gt.GroundTruth.from_objects([(np.array([[8, 8, 16, 16],
                                                    [40, 40, 48, 48]]),
                                          np.array([True, False]))])
    on_part = torch.zeros(1, 8, 8)
    on_part[0, 1, 1] = 1.0  # 8 px cells: the first (decisive) box
    scores = session.ground_truth_scores(on_part, truth, (64, 64), 0.0)
    assert scores['pointing'] == 1.0 and scores['energy'] > 0.5
    on_distractor = torch.zeros(1, 8, 8)
    on_distractor[0, 5, 5] = 1.0
    scores = session.ground_truth_scores(on_distractor, truth, (64, 64), 0.0)
    assert scores['pointing'] == 0.0 and scores['energy'] < 0.1
    assert 'n/a' in session.score_text(dict(pointing=0.0,
                                            energy=float('nan')))


def test_benchmark_samples_are_the_generated_test_images(tmp_path):
    config = synthetic.SyntheticPartsConfig(
        num_classes=2, train_per_class=2, test_per_class=2, image_size=64,
        part_size=12, distractors=2, seed=5)
    root = synthetic.generate_part_dataset(str(tmp_path / 'data'), config)
    on_disk = synthetic.load_scenes(root)
    with open(f'{root}/train_test_split.txt') as split, \
            open(f'{root}/images.txt') as images:
        paths = dict(line.split() for line in images)
        test = {paths[i] for i, train in (l.split() for l in split)
                if train == '0'}
    samples = session.benchmark_samples(per_class=2, config=config)
    assert {scene.path for scene in samples.values()} == test
    for scene in samples.values():
        assert scene == on_disk[scene.path]
        stored = np.asarray(Image.open(f'{root}/images/{scene.path}'))
        np.testing.assert_array_equal(
            synthetic.render_scene(scene, config), stored)


def test_a_click_selects_the_object_or_a_corner(explorer):
    view = explorer.sample(first_sample(explorer))
    scene = view.current.scene
    x0, y0, x1, y1 = scene.objects[2].box(session.BENCHMARK)
    middle = ((x0 + x1) / 2 * view.scale, (y0 + y1) / 2 * view.scale)
    choice, box = session.select_at(view.current, *middle, '')
    assert choice == view.objects[2] and choice.startswith('2: ')
    empty = next((x, y) for x in range(0, 96, 2) for y in range(0, 96, 2)
                 if session.object_at(scene, x, y) is None)
    with pytest.raises(ExplorerError, match='no object there'):
        session.select_at(view.current, empty[0] * 3, empty[1] * 3, '')
    upload = explorer.upload(np.zeros((60, 40, 3), np.uint8)).current
    scale = session.display_scale((60, 40))
    assert session.select_at(upload, 10 * scale, 20 * scale, '') == (
        None, '10, 20')
    assert session.select_at(upload, 30 * scale, 50 * scale, '10, 20') == (
        None, '10, 20, 30, 50')
    assert session.select_at(upload, 5 * scale, 6 * scale,
                             '10, 20, 30, 50') == (None, '5, 6')


def test_occlusion_changes_the_box_only(explorer):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)
    grey = session.occlude(image, (30, 10, 10, 20), 'grey')  # any corners
    assert (grey[10:20, 10:30] == 128).all()
    outside = np.ones(image.shape[:2], bool)
    outside[10:20, 10:30] = False
    np.testing.assert_array_equal(grey[outside], image[outside])
    blurred = session.occlude(image, (10, 10, 30, 20), 'blur')
    np.testing.assert_array_equal(blurred[outside], image[outside])
    assert blurred[10:20, 10:30].std() < image[10:20, 10:30].std() / 2
    with pytest.raises(ExplorerError, match='covers no pixel'):
        session.occlude(image, (60, 60, 70, 70))
    view = explorer.upload(image)
    changed = explorer.occlude(view.current, '10, 10, 30, 20', 'grey')
    np.testing.assert_array_equal(changed.current.image, grey)
    assert 'after grey box' in changed.prediction
    with pytest.raises(ExplorerError, match='four numbers'):
        explorer.occlude(view.current, '10, 10')


def test_uploads_are_decoded_or_refused(explorer, tmp_path):
    picture = np.full((700, 350, 3), 200, np.uint8)
    stream = io.BytesIO()
    Image.fromarray(picture).save(stream, format='JPEG')
    decoded = session.decode_image(stream.getvalue())
    assert decoded.shape == (512, 256, 3)  # the longer side shrunk to 512
    path = tmp_path / 'broken.png'
    path.write_bytes(b'\x89PNG not really')
    with pytest.raises(ExplorerError, match='cannot decode'):
        explorer.upload(str(path))
    view = explorer.upload(stream.getvalue())
    assert view.explanation.image.shape == (512, 256, 3)
    assert view.objects == [] and view.scores == ''


def test_every_method_of_the_registry_is_offered():
    methods = saliency_methods()
    names = session.method_names()
    assert {'gradcam', 'rise', 'brnpa', 'brnpa-class'} <= set(names)
    assert set(names) == {name for name, method in methods.items()
                          if not method.needs_ground_truth}


def test_rise_reports_progress_and_stops_when_asked(explorer, loaded):
    view = explorer.sample(first_sample(explorer))
    seen = []
    saliency, figure, scores = session.method_map(
        loaded, view.explanation, 'rise', dict(num_masks=100),
        progress=lambda fraction, text: seen.append((fraction, text)))
    assert saliency.shape == (1, 96, 96)
    assert [f for f, _ in seen] == [0.5, 1.0]  # 100 masks, 50 a pass
    assert seen[-1][1] == 'RISE: forward pass 2 of 2'
    assert figure.height == 192 and set(scores) == {'pointing', 'energy'}
    stop = threading.Event()
    passes = []

    def stop_after_the_first(fraction, text):
        passes.append(text)
        stop.set()
    with pytest.raises(Cancelled):
        session.method_map(loaded, view.explanation, 'rise',
                           dict(num_masks=500),
                           progress=stop_after_the_first, stop=stop)
    assert len(passes) == 1


def test_a_method_that_does_not_fit_the_model_is_an_explorer_error(
        explorer, loaded):
    view = explorer.sample(first_sample(explorer))
    with pytest.raises(ExplorerError, match='rollout failed on this model'):
        session.method_map(loaded, view.explanation, 'rollout')
    figure, text = explorer.method(view.current, 'gradcam')
    assert text.startswith('gradcam: ') and 'pointing' in text


def test_models_that_cannot_be_explained_are_refused(tiny_model, tmp_path):
    config, checkpoint = tiny_model
    with pytest.raises(ExplorerError, match='config without weights'):
        session.load_model(config)
    with pytest.raises(ExplorerError, match='has no checkpoint published'):
        session.load_model('brnpa-lowres_resnet50_8xb12_cub')
    with pytest.raises(ExplorerError, match='no-such-model'):
        session.load_model('no-such-model')
    broken = tmp_path / 'broken.py'
    broken.write_text(open(config).read() + "\nmodel['neck']['type'] = "
                      "'NoSuchNeck'\n")
    with pytest.raises(ExplorerError, match='could not build a model from'):
        session.load_model(str(broken), checkpoint)
    untrained = session.load_model(config, untrained=True)
    assert not untrained.trained and 'UNTRAINED' in untrained.note


def test_the_demo_model_is_the_shipped_checkpoint_or_labelled_untrained(
        monkeypatch):
    demo = session.load_model()
    assert demo.name == session.DEMO_MODEL and demo.trained
    assert demo.classes == synthetic.class_names(session.BENCHMARK)

    def no_checkpoint(name, **options):
        from brnpa_plugins.zoo import NoCheckpointError
        raise NoCheckpointError(f'{name} has no checkpoint here')
    monkeypatch.setattr('brnpa_plugins.zoo.resolve_checkpoint', no_checkpoint)
    untrained = session.load_model()
    assert not untrained.trained
    assert 'UNTRAINED' in untrained.note and 'make demo' in untrained.note
    line = Explorer(untrained).model_line()
    assert 'UNTRAINED' in line
    view = Explorer(untrained).sample(first_sample(Explorer(untrained)))
    assert '(UNTRAINED model)' in view.prediction
