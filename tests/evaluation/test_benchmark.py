"""The ecosystem-free benchmark: rows, per-batch scores, validity checks."""
import numpy as np
import pytest
import torch

from brnpa_plugins.backbones import FeatureLayer
from brnpa_plugins.evaluation import ground_truth as gt
from brnpa_plugins.evaluation.benchmark import (
    HEADLINE_METRICS, Batch, Evaluation, Options, Row, build_rows,
    default_controls, invalid_metrics, perturbation_subset, score_maps,
    validity_checks, validity_text)
from brnpa_plugins.evaluation.methods import SaliencyMethod
from brnpa_plugins.plugins import (get_plugin_manager, hookimpl,
                                   reset_plugins)


def truth_of(count: int) -> gt.GroundTruth:
    """One decisive 4 x 4 box at the top left and two distractors, at the
    bottom right and the top right, of each 16 x 16 image."""
    boxes = torch.tensor([[0., 0., 4., 4.], [12., 12., 16., 16.],
                          [12., 0., 16., 4.]])
    return gt.GroundTruth(boxes.expand(count, 3, 4).clone(),
                          torch.tensor([[True, False, False]]).expand(count,
                                                                      3),
                          torch.ones(count, 3, dtype=torch.bool))


def test_rows_take_their_labels_from_the_records():
    rows = build_rows({'BR-NPA': ['attention', 'norm'],
                       'CNN': ['gradcam', 'rise']}, 'BR-NPA',
                      default_controls(has_truth=True), random_seeds=3,
                      has_truth=True)
    assert [row.label for row in rows] == [
        'BR-NPA', 'BR-NPA norm map', 'CNN Grad-CAM', 'CNN RISE',
        'uniform random (3 seeds)', 'centred Gaussian',
        'colour saturation (no model)', 'white pixels (no model)',
        'edge energy (no model)', 'oracle', 'oracle (pixels)', 'anti-oracle']
    assert [row.seeds for row in rows if row.method == 'random'] == [3]
    assert {row.model for row in rows if row.method == 'oracle'} == {'BR-NPA'}


def test_the_default_controls_hold_every_cue_detector_and_both_oracles():
    assert default_controls(has_truth=False) == ['random', 'gaussian',
                                                 'saturation']
    assert default_controls(True) == [
        'random', 'gaussian', 'saturation', 'white-pixels', 'edge-energy',
        'oracle', 'oracle-pixels', 'anti-oracle']
    rows = build_rows({'M': ['attention']}, 'M', default_controls(True),
                      has_truth=True)
    assert [row.is_control for row in rows] == [False] + [True] * 8
    assert {'edge energy (no model)', 'white pixels (no model)',
            'oracle (pixels)'} <= {row.label for row in rows}


def test_a_third_party_cue_detector_is_a_default_control():
    class Plugin:
        @hookimpl
        def brnpa_register_saliency_methods(self, register):
            register(SaliencyMethod('dark-pixels', lambda model, images,
                                    targets: images[:, 0], control=True,
                                    cue=True))

    reset_plugins()
    get_plugin_manager().register(Plugin(), name='dark-pixels-plugin')
    try:
        assert default_controls(True)[3:6] == ['white-pixels', 'edge-energy',
                                               'dark-pixels']
    finally:
        reset_plugins()
    assert 'dark-pixels' not in default_controls(True)
    with pytest.raises(ValueError, match='set control=True'):
        SaliencyMethod('edges', lambda m, i, t: i[:, 0], cue=True)


@pytest.mark.parametrize('explained, controls, has_truth, message', [
    ({'M': ['atention']}, [], False, "unknown saliency methods"),
    ({'M': ['attention']}, ['norm'], False, "'norm' is not a control"),
    ({'M': ['attention']}, ['oracle'], False, 'needs a dataset with ground'),
])
def test_rows_refuse_what_cannot_be_scored(explained, controls, has_truth,
                                           message):
    with pytest.raises(ValueError, match=message):
        build_rows(explained, 'M', controls, has_truth=has_truth)


def test_a_third_party_method_is_labelled_and_run_like_a_built_in_one():
    calls = []

    def lucky(model, images, targets, seed=0, scale=1.0):
        calls.append((seed, scale, len(images)))
        return torch.full((len(images), 4, 4), scale)

    class Plugin:
        @hookimpl
        def brnpa_register_saliency_methods(self, register):
            register(SaliencyMethod('lucky', lucky, 'a seeded control',
                                    label='lucky (no model)', control=True,
                                    expensive=True))

    reset_plugins()
    get_plugin_manager().register(Plugin(), name='lucky-plugin')
    try:
        rows = build_rows({'M': ['norm']}, 'M', ['lucky'], random_seeds=2)
        assert rows[-1] == Row('lucky (no model) (2 seeds)', 'M', 'lucky', 2)
        model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, 4, 1),
                                    torch.nn.Flatten(1),
                                    torch.nn.LazyLinear(3)).eval()
        images = torch.rand(3, 3, 16, 16)
        model(images)
        evaluation = Evaluation(
            {'M': model}, rows, 'M',
            Options(max_steps=2, method_options={'lucky': {'scale': 0.5}}),
            lambda m: dict(feature_layer=FeatureLayer(m[0])))
        subset = np.array([True, False, True])
        batch = Batch(images, torch.zeros(3, dtype=torch.long),
                      ['a', 'b', 'c'])
        evaluation.run_batch(batch, subset)
        scores, _, accuracy = evaluation.results()
        # an expensive subset of its own: every image perturbed, one
        # expensive
        first, calls[:] = list(calls), []
        alone = Evaluation(
            {'M': model}, rows, 'M', Options(max_steps=2),
            lambda m: dict(feature_layer=FeatureLayer(m[0])))
        alone.run_batch(batch, np.ones(3, dtype=bool),
                        np.array([False, True, False]))
        apart = alone.results()[0]
    finally:
        reset_plugins()
    # expensive: scored on the perturbation images only, two seeds each
    assert sorted(first) == [(0, 0.5, 2), (1, 0.5, 2)]
    lucky_dauc = scores['lucky (no model) (2 seeds)']['dauc']
    assert np.isnan(lucky_dauc[1]) and np.isfinite(lucky_dauc[[0, 2]]).all()
    # perturbation metrics on the perturbation images, for every row
    assert np.isnan(scores['M norm map']['dauc']).tolist() == [False, True,
                                                              False]
    assert set(accuracy) == {'M'}
    assert sorted(calls) == [(0, 1.0, 1), (1, 1.0, 1)]
    assert np.isfinite(apart['M norm map']['dauc']).all()
    assert np.isfinite(apart['lucky (no model) (2 seeds)']['dauc']).tolist() \
        == [False, True, False]


def test_perturbation_subset_is_evenly_spaced():
    assert perturbation_subset(5, None).all()
    assert perturbation_subset(5, 9).all()
    assert np.flatnonzero(perturbation_subset(10, 3)).tolist() == [0, 4, 9]


def test_score_maps_on_ground_truth(region_model):
    images = torch.ones(2, 1, 16, 16)
    # the model reads the top-left 4 x 4 pixels of an 8 x 8 region: upsample
    model = torch.nn.Sequential(torch.nn.AvgPool2d(2), region_model)
    on_decisive = torch.zeros(2, 16, 16)
    on_decisive[:, :4, :4] = 1
    on_distractor = torch.zeros(2, 16, 16)
    on_distractor[:, 12:, 12:] = 1
    truth = truth_of(2)
    targets = torch.zeros(2, dtype=torch.long)
    drops = torch.tensor([[0.9, 0.0, 0.05], [0.8, 0.1, 0.0]])
    options = Options(max_steps=4, tolerance=0.0)
    good, curves = score_maps(model, images, on_decisive, targets, options,
                              truth=truth, drops=drops)
    bad, _ = score_maps(model, images, on_distractor, targets, options,
                        perturb=torch.tensor([0]), truth=truth, drops=drops)
    assert good['gt_pointing'].tolist() == [1, 1]
    assert bad['gt_pointing'].tolist() == [0, 0]
    assert np.allclose(good['gt_energy'], 1) and np.allclose(bad['gt_energy'],
                                                             0)
    assert (good['gt_faithfulness'] > bad['gt_faithfulness']).all()
    # deleting the decisive box first drops the class faster
    assert good['dauc'][0] < bad['dauc'][0]
    assert np.isnan(bad['dauc'][1])  # not a perturbation image
    assert set(curves) == {'deletion', 'insertion'}


def test_score_maps_on_a_planted_shortcut(region_model):
    """A map on the shortcut's box reveals it; images without one get
    NaN, and without shortcut boxes there are no shortcut scores."""
    images = torch.ones(3, 1, 16, 16)
    model = torch.nn.Sequential(torch.nn.AvgPool2d(2), region_model)
    on_marker = torch.zeros(3, 16, 16)
    on_marker[:, 12:, :4] = 1  # bottom left
    marker = gt.GroundTruth(
        torch.tensor([[0., 12., 4., 16.]]).expand(3, 1, 4).clone(),
        torch.tensor([[True], [True], [False]]),
        torch.tensor([[True], [True], [False]]))
    options = Options(max_steps=4, tolerance=0.0)
    targets = torch.zeros(3, dtype=torch.long)
    scores, _ = score_maps(model, images, on_marker, targets, options,
                           perturb=torch.tensor([], dtype=torch.long),
                           truth=truth_of(3), shortcut=marker)
    assert scores['shortcut_pointing'][:2].tolist() == [1, 1]
    assert np.allclose(scores['shortcut_energy'][:2], 1)
    assert np.isnan(scores['shortcut_pointing'][2])
    assert np.isnan(scores['shortcut_energy'][2])
    assert scores['gt_pointing'].tolist() == [0, 0, 0]
    elsewhere, _ = score_maps(model, images, 1 - on_marker, targets,
                              options, perturb=torch.tensor([0]),
                              shortcut=marker)
    assert elsewhere['shortcut_pointing'][:2].tolist() == [0, 0]
    assert np.allclose(elsewhere['shortcut_energy'][:2], 0)
    plain, _ = score_maps(model, images, on_marker, targets, options,
                          perturb=torch.tensor([0]), truth=truth_of(3))
    assert 'shortcut_pointing' not in plain


def checks_for(oracle: float, saturation: float):
    rows = [Row('oracle', 'M', 'oracle'), Row('anti-oracle', 'M',
                                               'anti-oracle'),
            Row('oracle (pixels)', 'M', 'oracle-pixels'),
            Row('colour saturation (no model)', 'M', 'saturation')]
    scores = {'oracle': {'gt_energy': np.array([oracle])},
              'anti-oracle': {'gt_energy': np.array([0.0])},
              # the ceiling is not a control the grid oracle must beat
              'oracle (pixels)': {'gt_energy': np.array([1.0])},
              'colour saturation (no model)': {
                  'gt_energy': np.array([saturation])}}
    return validity_checks(scores, rows)


def test_validity_fails_when_a_model_free_map_reaches_the_oracle():
    assert 'gt_energy' in HEADLINE_METRICS
    passed = checks_for(oracle=0.9, saturation=0.3)
    assert [c['control'] for c in passed] == [
        'anti-oracle', 'colour saturation (no model)']
    assert [c['passed'] for c in passed] == [True, True]
    assert 'PASSED' in validity_text(passed)
    failed = checks_for(oracle=0.9, saturation=0.95)
    assert [c['passed'] for c in failed] == [True, False]
    assert 'FAILED on 1 of 2 checks; not valid on gt_energy.' in \
        validity_text(failed)
    assert invalid_metrics(failed) == ['gt_energy']
    assert invalid_metrics(passed) == []
    assert validity_text([]) == ''


def test_untrained_network_rows_are_controls_of_several_draws():
    rows = build_rows({'M': ['attention', 'norm'], 'CNN': ['gradcam']}, 'M',
                      ['oracle'], has_truth=True, untrained_draws=3)
    untrained = [row for row in rows if row.untrained]
    assert [row.label for row in untrained] == [
        'M (untrained network, 3 draws)',
        'M norm map (untrained network, 3 draws)']
    assert all(row.is_control and row.seeds == 3 for row in untrained)
    assert not rows[0].is_control and rows[-3].is_control  # the oracle


def test_untrained_rows_of_chosen_methods_only():
    rows = build_rows({'M': ['attention', 'norm']}, 'M', [],
                      untrained_draws=2, untrained_methods=['norm'])
    assert [r.label for r in rows if r.untrained] == [
        'M norm map (untrained network, 2 draws)']
    with pytest.raises(ValueError, match=r"untrained rows of \['gradcam'\]"):
        build_rows({'M': ['attention']}, 'M', [], untrained_draws=2,
                   untrained_methods=['gradcam'])


def test_untrained_rows_and_randomisation_draws_are_scored():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, 4, 1),
                                torch.nn.ReLU(), torch.nn.Flatten(1),
                                torch.nn.Linear(64, 3)).eval()
    rows = build_rows({'M': ['norm']}, 'M', [], untrained_draws=2)
    evaluation = Evaluation({'M': model}, rows, 'M',
                            Options(max_steps=2, sanity=True, sanity_draws=3),
                            lambda m: dict(feature_layer=FeatureLayer(m[0])))
    images = torch.rand(4, 3, 16, 16)
    evaluation.run_batch(Batch(images, torch.zeros(4, dtype=torch.long),
                               list('abcd')), np.ones(4, dtype=bool))
    scores, _, _ = evaluation.results()
    draws = evaluation.randomisation_draws()
    assert list(draws) == ['M norm map'] and len(draws['M norm map']) == 3
    assert np.isclose(np.mean(draws['M norm map']),
                      np.nanmean(scores['M norm map']['randomisation']))
    # the untrained rows are not randomised again, and differ from the model
    untrained = scores['M norm map (untrained network, 2 draws)']
    assert 'randomisation' not in untrained
    assert not np.allclose(untrained['dauc'], scores['M norm map']['dauc'])
    # cascading: the head alone re-initialised leaves the norm map of the
    # convolution as it is; the convolution re-initialised changes it
    cascade = evaluation.cascade_results()['M norm map']
    assert [(s['down_to'], s['layers'], s['of']) for s in cascade] == [
        ('3', 1, 2), ('0', 2, 2)]
    assert cascade[0]['similarity'] == pytest.approx(1.0)
    assert cascade[1]['similarity'] < 0.9


def test_energy_ignores_a_map_offset():
    truth = truth_of(1)
    signal = torch.zeros(1, 16, 16)
    signal[:, :4, :4] = 1
    for offset in (0.0, 0.5, -3.0):
        energy = gt.decisive_energy(signal * 0.1 + offset, truth, (16, 16))
        assert torch.allclose(energy, torch.ones(1))
