"""Deletion and insertion curves, AUCs and DC / IC against hand-computed answers."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.integrate import trapezoid

from brnpa_plugins.evaluation import (area_under_curve, blur_kernel_size,
                                      box_blur, deletion_auc, insertion_auc,
                                      perturbation_curves,
                                      saliency_correlation, step_plan)


def region_first_map():
    """A 4 x 4 map (2 x 2 patches of an 8 x 8 image) that ranks the four
    patches of the top-left 4 x 4 region first, with distinct values."""
    order = [0, 1, 4, 5, 2, 3, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]
    saliency = torch.empty(16)
    saliency[order] = torch.arange(16, 0, -1).float()
    return saliency.reshape(1, 4, 4)


def region_curve(model, mode, saliency=None, **options):
    """The curve of one 8 x 8 image of ones, explained by ``saliency``."""
    saliency = region_first_map() if saliency is None else saliency
    return perturbation_curves(model, torch.ones(1, 1, 8, 8), saliency,
                               modes=(mode, ), **options)[mode]


def test_step_plan_caps_steps_like_the_authors():
    assert step_plan(56 * 56, 196) == (16, 196)
    assert step_plan(14 * 14, 196) == (1, 196)
    assert step_plan(12 * 12, 196) == (1, 144)
    assert step_plan(96 * 96, 196) == (48, 192)  # last step is partial
    with pytest.raises(ValueError, match='max_steps'):
        step_plan(10, 0)


def test_deletion_of_the_region_first(region_model):
    model = region_model
    images = torch.ones(1, 1, 8, 8)
    scores = region_curve(model, 'deletion').scores[0]
    expected = torch.tensor([1, .75, .5, .25] + [0] * 13)
    assert scores.shape == (17, )  # 16 map pixels, one per step, + start
    assert torch.allclose(scores, expected, atol=1e-5)
    # trapezoid over x in [0, 1]: (1/2 + .75 + .5 + .25) / 16
    auc = deletion_auc(model, images, region_first_map())
    assert auc.shape == (1, )
    assert auc.item() == pytest.approx(2 / 16, abs=1e-5)
    # the region last: 1 until 12 steps are done, then 3/4, 1/2, 1/4, 0:
    # (1/2 + 12 + .75 + .5 + .25) / 16
    late = deletion_auc(model, images, -region_first_map())
    assert late.item() == pytest.approx(14 / 16, abs=1e-5)


def test_deletion_with_several_pixels_per_step(region_model):
    # 16 map pixels in at most 5 steps: 4 per step, 4 steps; the first step
    # removes the 4 region patches at once.
    curve = region_curve(region_model, 'deletion', max_steps=5)
    assert torch.allclose(curve.scores[0], torch.tensor([1., 0, 0, 0, 0]),
                          atol=1e-5)
    assert torch.allclose(curve.step_saliency[0],
                          torch.tensor([14.5, 10.5, 6.5, 2.5]))


def test_insertion_pastes_patches_on_the_blurred_image(region_model):
    images = torch.ones(1, 1, 8, 8)
    curve = region_curve(region_model, 'insertion', blur_kernel=3)
    blurred = box_blur(images, 3)[0, 0]
    # region patches in insertion order, each 2 x 2 pixels
    patches = [blurred[r:r + 2, c:c + 2].sum().item()
               for r, c in ((0, 0), (0, 2), (2, 0), (2, 2))]
    expected = [(4 * inserted + sum(patches[inserted:])) / 16
                for inserted in range(5)] + [1.0] * 12
    assert torch.allclose(curve.scores[0], torch.tensor(expected), atol=1e-5)
    assert curve.scores[0, 0] < 1  # starts from the blurred image
    assert insertion_auc(region_model, images, region_first_map(),
                         blur_kernel=3).item() == pytest.approx(
                             trapezoid(expected, np.linspace(0, 1, 17)),
                             abs=1e-5)


def test_box_blur_is_a_zero_padded_box_per_channel():
    images = torch.rand(2, 3, 20, 20)
    kernel = torch.ones(3, 1, 5, 5) / 25
    expected = F.conv2d(images, kernel, padding=2, groups=3)
    assert torch.allclose(box_blur(images, 5), expected, atol=1e-6)
    assert blur_kernel_size(448) == 89
    assert blur_kernel_size(96) == 19
    assert blur_kernel_size(32) == 9
    assert blur_kernel_size(50) == 11  # 10 made odd
    with pytest.raises(ValueError, match='odd'):
        box_blur(images, 4)


def test_correlation_of_score_drops_with_removed_saliency(region_model):
    model = region_model
    curves = perturbation_curves(model, torch.ones(1, 1, 8, 8),
                                 region_first_map())
    drops = np.array([.25] * 4 + [0] * 12)
    saliency = np.arange(16, 0, -1)
    expected = np.corrcoef(drops, saliency)[0, 1]
    assert saliency_correlation(curves['deletion']).item() == pytest.approx(
        expected, abs=1e-4)
    # a faithful map correlates positively for deletion and insertion alike
    assert saliency_correlation(curves['insertion']).item() > 0.5


def test_area_under_curve_by_the_trapezoid_rule():
    scores = torch.tensor([[1.0, 0.5, 0.0], [0.2, 0.2, 0.2]])
    assert torch.allclose(area_under_curve(scores), torch.tensor([0.5, 0.2]))


def test_batching_does_not_change_the_results(tiny_cnn):
    model = tiny_cnn
    torch.manual_seed(1)
    images, saliency = torch.randn(3, 3, 16, 16), torch.rand(3, 8, 8)
    one = perturbation_curves(model, images, saliency, batch_size=1)
    many = perturbation_curves(model, images, saliency, batch_size=1000)
    for mode in ('deletion', 'insertion'):
        assert one[mode].scores.shape == (3, 65)
        assert torch.allclose(one[mode].scores, many[mode].scores, atol=1e-5)
        assert torch.equal(one[mode].target, many[mode].target)


def test_curve_ends_are_the_unperturbed_and_fully_perturbed_images(tiny_cnn):
    model = tiny_cnn
    torch.manual_seed(2)
    images, saliency = torch.randn(2, 3, 16, 16), torch.rand(2, 4, 4)
    curves = perturbation_curves(model, images, saliency, max_steps=4)
    probabilities = model(images).softmax(1)
    target = probabilities.argmax(1)
    original = probabilities[torch.arange(2), target]
    deleted = model(torch.zeros_like(images)).softmax(1)[torch.arange(2),
                                                        target]
    blurred = model(box_blur(images)).softmax(1)[torch.arange(2), target]
    deletion, insertion = curves['deletion'].scores, curves['insertion'].scores
    assert deletion.shape == insertion.shape == (2, 5)
    assert torch.allclose(deletion[:, 0], original, atol=1e-6)
    assert torch.allclose(deletion[:, -1], deleted, atol=1e-6)
    assert torch.allclose(insertion[:, 0], blurred, atol=1e-6)
    assert torch.allclose(insertion[:, -1], original, atol=1e-6)


def test_explicit_targets_are_scored(tiny_cnn):
    model = tiny_cnn
    images, saliency = torch.randn(2, 3, 16, 16), torch.rand(2, 4, 4)
    target = torch.tensor([3, 1])
    curve = perturbation_curves(model, images, saliency, target,
                                modes=('deletion', ))['deletion']
    expected = model(images).softmax(1)[torch.arange(2), target]
    assert torch.allclose(curve.scores[:, 0], expected, atol=1e-6)
    with pytest.raises(ValueError, match='target classes must lie'):
        deletion_auc(model, images, saliency, torch.tensor([0, 7]))
    with pytest.raises(ValueError, match='one integer class per image'):
        deletion_auc(model, images, saliency, torch.tensor([0]))


@pytest.mark.parametrize('saliency, message', [
    (torch.rand(2, 5, 5), 'does not tile'),
    (torch.rand(2, 4), 'B x h x w'),
    (torch.rand(3, 4, 4), 'one map per image'),
    (torch.tensor(float('nan')).expand(2, 4, 4), r'images \[0, 1\].*NaN'),
])
def test_bad_saliency_maps_are_refused(saliency, message, tiny_cnn):
    with pytest.raises(ValueError, match=message):
        deletion_auc(tiny_cnn, torch.randn(2, 3, 16, 16), saliency)


def test_empty_batch_and_bad_options_are_refused(tiny_cnn):
    model = tiny_cnn
    with pytest.raises(ValueError, match='empty batch'):
        insertion_auc(model, torch.randn(0, 3, 16, 16), torch.rand(0, 4, 4))
    images, saliency = torch.randn(1, 3, 16, 16), torch.rand(1, 4, 4)
    with pytest.raises(ValueError, match='batch_size'):
        deletion_auc(model, images, saliency, batch_size=0)
    with pytest.raises(ValueError, match='modes'):
        perturbation_curves(model, images, saliency, modes=('erase', ))
    with pytest.raises(ValueError, match='logits'):
        deletion_auc(torch.nn.Identity(), images, saliency)
