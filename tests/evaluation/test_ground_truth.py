"""Ground-truth scores on hand-made boxes and maps."""
import numpy as np
import pytest
import torch
from torch import nn

from brnpa_plugins.evaluation.ground_truth import (
    GroundTruth, box_masks, cascade_layers, cascading_copies,
    decisive_energy, decisive_pointing,
    intervention_drops, map_similarity, model_decisive, object_mass,
    part_coverage, randomised_copy, rank_correlation, tie_small_drops)

SIZE = (16, 16)


def truth():
    """Image 0: decisive box top-left, distractor bottom-right; image 1:
    the same boxes with the roles swapped and a third, decisive box."""
    boxes = [np.array([[0, 0, 8, 8], [8, 8, 16, 16]]),
             np.array([[0, 0, 8, 8], [8, 8, 16, 16], [8, 0, 16, 8]])]
    roles = [np.array([True, False]), np.array([False, True, True])]
    return GroundTruth.from_objects(list(zip(boxes, roles)))


def test_padding_and_scaling():
    t = truth()
    assert t.boxes.shape == (2, 3, 4) and t.valid.tolist() == [
        [True, True, False], [True, True, True]]
    scaled = GroundTruth.from_objects([(np.array([[0, 0, 8, 4]]),
                                        np.array([True]))], [(0.5, 2.0)])
    assert scaled.boxes[0, 0].tolist() == [0, 0, 4, 8]
    masks = box_masks(t, SIZE)
    assert masks.shape == (2, 3, 16, 16)
    assert masks[0, 0].sum() == 64 and masks[0, 2].sum() == 0


def test_pointing_hits_only_decisive_parts():
    maps = torch.zeros(2, 4, 4)
    maps[:, 0, 0] = 1  # the peak is in the top-left box for both images
    hits = decisive_pointing(maps, truth(), SIZE, tolerance=0)
    assert hits.tolist() == [1.0, 0.0]  # image 1: that box is a distractor


def test_model_pointing_is_on_the_object_the_model_needs_most():
    """The generator's decisive box of image 1 is not where its model
    loses most: pointing on the model's own evidence follows the drops; an
    image whose removals all move the probability by less than 0.01 is not
    scored."""
    t = truth()
    drops = torch.tensor([[0.6, 0.1, float('nan')],   # image 0: object 0
                          [0.9, 0.2, 0.3]])           # image 1: distractor
    own = model_decisive(t, drops)
    assert own.decisive.tolist() == [[True, False, False],
                                     [True, False, False]]
    maps = torch.zeros(2, 4, 4)
    maps[:, 0, 0] = 1  # both peaks in the top-left box
    assert decisive_pointing(maps, truth(), SIZE, 0).tolist() == [1.0, 0.0]
    assert decisive_pointing(maps, own, SIZE, 0).tolist() == [1.0, 1.0]
    quiet = model_decisive(t, torch.tensor([[0.005, -0.2, float('nan')],
                                            [0.0, 0.0, 0.0]]))
    assert not quiet.decisive.any()
    assert torch.isnan(decisive_pointing(maps, quiet, SIZE, 0)).all()


def test_pointing_tolerance_grows_the_boxes():
    t = GroundTruth.from_objects([(np.array([[4, 4, 8, 8]]),
                                   np.array([True]))])
    maps = torch.zeros(1, 16, 16)
    maps[0, 1, 1] = 1  # peak at pixel centre (1.5, 1.5)
    assert decisive_pointing(maps, t, SIZE, 2).item() == 0.0
    assert decisive_pointing(maps, t, SIZE, 3).item() == 1.0


def test_energy_and_object_mass():
    maps = torch.zeros(2, 16, 16)
    maps[:, :8, :8] = 1.0  # 64 px top-left
    maps[:, 8:, 8:] = 3.0  # 64 px bottom-right, three times the weight
    energy = decisive_energy(maps, truth(), SIZE)
    assert energy.tolist() == pytest.approx([0.25, 0.75])
    mass = object_mass(maps, truth(), SIZE)
    assert mass[0, :2].tolist() == pytest.approx([0.25, 0.75])
    assert torch.isnan(mass[0, 2])
    zero = decisive_energy(torch.zeros(2, 4, 4), truth(), SIZE)
    assert torch.isnan(zero).all()
    # an image without decisive parts has no energy, as it has no pointing
    none = GroundTruth(truth().boxes, torch.zeros_like(truth().decisive),
                       truth().valid)
    assert torch.isnan(decisive_energy(maps, none, SIZE)).all()
    assert torch.isnan(decisive_pointing(maps, none, SIZE, 0)).all()


def test_coverage_counts_distinct_decisive_parts():
    t = GroundTruth.from_objects([(np.array([[0, 0, 8, 8], [8, 0, 16, 8],
                                             [0, 8, 8, 16]]),
                                   np.array([True, True, False]))])
    same = torch.zeros(1, 2, 16, 16)
    same[0, :, :8, :8] = 1  # both maps on part 0
    apart = same.clone()
    apart[0, 1] = 0
    apart[0, 1, :8, 8:] = 1  # map 1 on part 1
    on_distractor = same.clone()
    on_distractor[0, 1] = 0
    on_distractor[0, 1, 8:, :8] = 1
    assert part_coverage(same, t, SIZE).item() == 0.5
    assert part_coverage(apart, t, SIZE).item() == 1.0
    assert part_coverage(on_distractor, t, SIZE).item() == 0.5
    with pytest.raises(ValueError, match='N >= 2'):
        part_coverage(same[:, :1], t, SIZE)


def test_rank_correlation_matches_scipy_and_handles_nan_and_ties():
    from scipy.stats import spearmanr
    generator = np.random.default_rng(0)
    a = generator.normal(size=(5, 7))
    b = a + generator.normal(size=(5, 7))
    a[0, 2] = np.nan
    b[1, :2] = b[1, 2]  # ties
    rho = rank_correlation(torch.tensor(a), torch.tensor(b)).numpy()
    for row in range(5):
        keep = np.isfinite(a[row]) & np.isfinite(b[row])
        expected = spearmanr(a[row, keep], b[row, keep]).statistic
        assert rho[row] == pytest.approx(expected, abs=1e-6)
    constant = rank_correlation(torch.ones(1, 4), torch.arange(4.)[None])
    assert torch.isnan(constant).all()


def test_noise_drops_are_tied_so_their_order_does_not_count():
    # three decisive objects matter, three distractors move the probability
    # by noise only; a map that ranks the distractors in the reverse order
    # of their noise scores as well as one that ranks them in order
    drops = torch.tensor([[0.5, 0.3, 0.4, 0.004, -0.002, 0.001, float('nan')]])
    in_order = torch.tensor([[5., 3., 4., 2.5, 0.5, 1.5, 0.]])
    reversed_noise = torch.tensor([[5., 3., 4., 0.5, 2.5, 1.5, 0.]])
    tied = tie_small_drops(drops)
    assert tied[0, 3:6].eq(0).all() and torch.isnan(tied[0, 6])
    assert tied[0, :3].equal(drops[0, :3])
    raw = rank_correlation(in_order, drops) - rank_correlation(
        reversed_noise, drops)
    assert raw.abs().item() > 0.1  # untied, the noise order counts
    assert rank_correlation(in_order, tied).item() == pytest.approx(
        rank_correlation(reversed_noise, tied).item())
    # no object matters: faithfulness is not defined for the image
    quiet = tie_small_drops(torch.tensor([[0.005, -0.003, 0.002]]))
    assert torch.isnan(rank_correlation(torch.tensor([[3., 2., 1.]]),
                                        quiet)).all()


class Brightness(nn.Module):
    """Two classes; class 0's logit is the mean of the top-left quarter."""

    def forward(self, images):
        score = images[:, 0, :8, :8].mean(dim=(1, 2)) * 10
        return torch.stack([score, torch.zeros_like(score)], dim=1)


def test_intervention_drops_measure_what_the_model_uses():
    images = torch.ones(1, 3, 16, 16)
    used, unused = images.clone(), images.clone()
    used[:, :, :8, :8] = 0  # the object the model reads, removed
    unused[:, :, 8:, 8:] = 0
    variants = torch.stack([used, unused], dim=1)
    drops = intervention_drops(Brightness(), images, variants,
                               torch.tensor([0]), batch_size=1)
    assert drops[0, 0] > 0.4 and drops[0, 1] == 0
    masked = intervention_drops(Brightness(), images, variants,
                                torch.tensor([0]),
                                valid=torch.tensor([[True, False]]))
    assert torch.isnan(masked[0, 1])
    with pytest.raises(ValueError, match='B x K x C x H x W'):
        intervention_drops(Brightness(), images, variants[:, :, :2],
                           torch.tensor([0]))


def test_randomised_copy_changes_the_weights_not_the_model():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU())
    model[1].running_mean.fill_(5)
    copy = randomised_copy(model, seed=1)
    assert not torch.equal(copy[0].weight, model[0].weight)
    assert torch.equal(copy[1].running_mean, torch.zeros(4))
    assert torch.equal(model[1].running_mean, torch.full((4, ), 5.0))
    again = randomised_copy(model, seed=1)
    assert torch.equal(again[0].weight, copy[0].weight)
    maps = torch.rand(3, 4, 4)
    assert map_similarity(maps, maps).tolist() == pytest.approx([1, 1, 1])
    assert map_similarity(maps, -maps).tolist() == pytest.approx([-1] * 3)


def test_cascading_copies_reinitialise_from_the_output_down():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(),
                          nn.Flatten(1), nn.Linear(4, 2), nn.Linear(2, 2))
    assert cascade_layers(model) == ['0', '1', '4', '5']
    copies = cascading_copies(model, steps=2, seed=3)
    assert [(name, count) for name, count, _ in copies] == [('4', 2),
                                                           ('0', 4)]
    for _, count, randomised in copies:
        assert not randomised.training
        for index, name in enumerate(cascade_layers(model)):
            same = torch.equal(dict(model.named_modules())[name].weight,
                               dict(randomised.named_modules())[name].weight)
            # BatchNorm's reset sets weight 1, which it already is
            if name != '1':
                assert same == (index < 4 - count), (name, count)
    again = cascading_copies(model, steps=2, seed=3)
    assert torch.equal(again[1][2][0].weight, copies[1][2][0].weight)
    assert len(cascading_copies(model, steps=8)) == 4  # one per layer
    with pytest.raises(ValueError, match='steps must be an integer'):
        cascading_copies(model, steps=0)
    with pytest.raises(ValueError, match='has none'):
        cascading_copies(nn.ReLU())
