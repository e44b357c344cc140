import math

import pytest
import torch

from brnpa_plugins.core import BRNPA

R2 = math.sqrt(2.0)


def two_by_two():
    # locations 0..3 (row-major) hold (1, 0), (0, 2), (1, 1), (0, 0)
    vectors = torch.tensor([[1., 0.], [0., 2.], [1., 1.], [0., 0.]])
    return vectors.t().reshape(1, 2, 2, 2)


def test_two_by_two_by_hand():
    out = BRNPA(num_parts=3, eps=1e-12)(two_by_two())
    # seed 1 = (0, 2), the most active; cosines to it: 0, 1, 1/sqrt2, 0
    a1 = torch.tensor([0., 1., 1 / R2, 0.]) / (1 + 1 / R2)
    # soft suppression leaves scores 1, 0, sqrt2 (1 - 1/sqrt2), 0 -> seed 0
    a2 = torch.tensor([1., 0., 1 / R2, 0.]) / (1 + 1 / R2)
    # then scores 0, 0, sqrt2 (1 - 1/sqrt2)^2, 0 -> seed 2
    a3 = torch.tensor([1 / R2, 1 / R2, 1., 0.]) / (1 + R2)
    expected = torch.stack([a1, a2, a3]).reshape(1, 3, 2, 2)
    torch.testing.assert_close(out.attention, expected, atol=1e-6, rtol=0)
    vectors = torch.tensor([[1., 0.], [0., 2.], [1., 1.], [0., 0.]])
    expected_parts = torch.stack([a1 @ vectors, a2 @ vectors, a3 @ vectors])
    torch.testing.assert_close(out.features[0], expected_parts, atol=1e-6,
                               rtol=0)
    assert out.seeds.tolist() == [[1, 0, 2]]
    normalised_norm = torch.tensor([0.5, 1.0, R2 / 2, 0.0])
    torch.testing.assert_close(
        out.activity[0],
        torch.stack([a @ normalised_norm for a in (a1, a2, a3)]),
        atol=1e-6, rtol=0)
    torch.testing.assert_close(out.norm[0].flatten(),
                               torch.tensor([1.0, 2.0, R2, 0.0]))


def test_sort_by_activity_reorders_every_output():
    plain = BRNPA(num_parts=3, eps=1e-12)(two_by_two())
    ranked = BRNPA(num_parts=3, eps=1e-12,
                   sort_by_activity=True)(two_by_two())
    order = plain.activity[0].argsort(descending=True)
    assert order.tolist() == [0, 2, 1]
    torch.testing.assert_close(ranked.activity[0], plain.activity[0, order])
    torch.testing.assert_close(ranked.attention[0], plain.attention[0, order])
    torch.testing.assert_close(ranked.features[0], plain.features[0, order])
    assert ranked.seeds[0].tolist() == plain.seeds[0, order].tolist()


def test_three_by_three_orthogonal_parts_give_one_hot_maps():
    x = torch.zeros(1, 3, 3, 3)
    x[0, 0, 1, 1] = 3.0  # centre
    x[0, 1, 0, 0] = 2.0  # top-left
    x[0, 2, 2, 2] = 1.0  # bottom-right
    out = BRNPA(num_parts=3)(x)
    assert out.seeds.tolist() == [[4, 0, 8]]
    for k, location in enumerate((4, 0, 8)):
        expected = torch.zeros(9)
        expected[location] = 1.0
        torch.testing.assert_close(out.attention[0, k].flatten(), expected)
    torch.testing.assert_close(out.features[0], torch.diag(torch.tensor(
        [3.0, 2.0, 1.0])), atol=1e-5, rtol=0)
    torch.testing.assert_close(out.activity[0],
                               torch.tensor([1.0, 2 / 3, 1 / 3]),
                               atol=1e-5, rtol=0)


def random_features(seed=0, shape=(4, 16, 5, 7)):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=generator).relu()


def test_invariants_on_random_features():
    x = random_features()
    out = BRNPA(num_parts=4)(x)
    assert out.features.shape == (4, 4, 16)
    assert out.attention.shape == (4, 4, 5, 7)
    assert out.activity.shape == (4, 4)
    assert (out.attention >= 0).all()
    torch.testing.assert_close(out.attention.sum(dim=(2, 3)),
                               torch.ones(4, 4))
    first_seed = x.flatten(2).norm(dim=1).argmax(dim=1)
    assert out.seeds[:, 0].tolist() == first_seed.tolist()
    assert len(set(out.seeds[0].tolist())) == 4  # suppression moves on
    assert (out.activity >= 0).all() and (out.activity <= 1).all()


def test_vector_norm_activity():
    x = random_features()
    out = BRNPA(num_parts=2, activity='vector_norm')(x)
    torch.testing.assert_close(out.activity, out.features.norm(dim=2))


def test_batch_independence():
    x = random_features(1)
    model = BRNPA(num_parts=3)
    together = model(x)
    for i in range(x.shape[0]):
        alone = model(x[i:i + 1])
        for name in ('features', 'attention', 'activity', 'norm'):
            torch.testing.assert_close(getattr(alone, name)[0],
                                       getattr(together, name)[i])


def test_gradients_reach_the_features():
    x = random_features(2).requires_grad_()
    out = BRNPA(num_parts=3)(x)
    (out.features.sum() + out.attention.pow(2).sum()).backward()
    assert torch.isfinite(x.grad).all()
    assert x.grad.abs().sum() > 0


def test_all_zero_features_give_uniform_maps_and_finite_gradients():
    x = torch.zeros(2, 8, 3, 4, requires_grad=True)
    out = BRNPA(num_parts=3)(x)
    torch.testing.assert_close(out.attention,
                               torch.full((2, 3, 3, 4), 1 / 12))
    assert torch.isfinite(out.features).all()
    assert torch.isfinite(out.activity).all()
    out.features.sum().backward()
    assert torch.isfinite(x.grad).all()


def test_one_zero_image_does_not_disturb_the_others():
    x = random_features(3, (3, 8, 4, 4))
    x[1] = 0
    out = BRNPA(num_parts=2)(x)
    torch.testing.assert_close(out.attention[1],
                               torch.full((2, 4, 4), 1 / 16))
    torch.testing.assert_close(out.attention[0],
                               BRNPA(num_parts=2)(x[:1]).attention[0])


def test_ties_pick_the_first_location():
    x = torch.ones(1, 4, 2, 3)
    out = BRNPA(num_parts=2)(x)
    assert out.seeds[0, 0].item() == 0
    torch.testing.assert_close(out.attention[0, 0],
                               torch.full((2, 3), 1 / 6))


def test_one_by_one_map():
    x = torch.rand(2, 5, 1, 1)
    out = BRNPA(num_parts=1)(x)
    torch.testing.assert_close(out.attention, torch.ones(2, 1, 1, 1))
    torch.testing.assert_close(out.features[:, 0], x.flatten(1))


@pytest.mark.parametrize('num_parts', [0, -1, 1.5, True, '3'])
def test_bad_num_parts_is_a_clear_error(num_parts):
    with pytest.raises(ValueError, match='num_parts'):
        BRNPA(num_parts=num_parts)


def test_more_parts_than_locations_is_a_clear_error():
    with pytest.raises(ValueError, match=r'num_parts=5 exceeds the 4 '
                       r'locations of a 2x2'):
        BRNPA(num_parts=5)(torch.rand(1, 3, 2, 2))


@pytest.mark.parametrize('kwargs, word', [(dict(seed='best'), 'seed'),
                                          (dict(activity='x'), 'activity'),
                                          (dict(eps=0), 'eps')])
def test_bad_options_are_clear_errors(kwargs, word):
    with pytest.raises(ValueError, match=word):
        BRNPA(**kwargs)


def test_an_unknown_option_names_the_closest_one():
    with pytest.raises(TypeError, match="BRNPA: unknown argument 'num_part' "
                       r"\(did you mean 'num_parts'\?\); known arguments: "
                       'num_parts, refine, seed, activity, sort_by_activity, '
                       'eps$'):
        BRNPA(num_part=3)


def test_wrong_rank_input_is_a_clear_error():
    with pytest.raises(ValueError, match='B x C x H x W'):
        BRNPA()(torch.rand(3, 4, 5))


def test_no_refinement_ablation_returns_the_seed_vectors():
    x = random_features(4)
    out = BRNPA(num_parts=3, refine=False)(x)
    flat = x.flatten(2).transpose(1, 2)
    rows = torch.arange(x.shape[0]).unsqueeze(1)
    torch.testing.assert_close(out.features, flat[rows, out.seeds])


def test_random_seed_ablation_still_gives_valid_maps():
    torch.manual_seed(0)
    out = BRNPA(num_parts=3, seed='random')(random_features(5))
    torch.testing.assert_close(out.attention.sum(dim=(2, 3)),
                               torch.ones(4, 3))


def test_bfloat16_autocast_on_cpu():
    conv = torch.nn.Conv2d(3, 32, 3)
    x = torch.rand(2, 3, 12, 12) * 100
    with torch.autocast('cpu', dtype=torch.bfloat16):
        features = conv(x).relu()
        assert features.dtype == torch.bfloat16
        out = BRNPA(num_parts=3)(features)
    assert out.features.dtype == torch.bfloat16
    assert torch.isfinite(out.features.float()).all()
    torch.testing.assert_close(out.attention.float().sum(dim=(2, 3)),
                               torch.ones(2, 3), atol=2e-2, rtol=0)


def test_float16_input_with_large_values_does_not_overflow():
    # A sum of squares over many channels overflows float16 (max 65504);
    # the grouping runs in float32 and casts back.
    x = torch.full((1, 2048, 3, 3), 60.0, dtype=torch.float16)
    x[0, :, 0, 0] = 100.0
    out = BRNPA(num_parts=2)(x)
    assert out.features.dtype == torch.float16
    assert torch.isfinite(out.features).all()
    assert torch.isfinite(out.attention).all()
    assert out.seeds[0, 0].item() == 0


def test_float16_features_near_the_float16_limit_give_finite_maps():
    from brnpa_plugins.core import saliency_map
    torch.manual_seed(0)
    x = (torch.rand(2, 2048, 4, 4) * 6e4).half()  # norms far above 65504
    out = BRNPA(num_parts=3)(x)
    assert out.norm.dtype == torch.float32 and torch.isfinite(out.norm).all()
    assert torch.isfinite(out.activity).all()
    maps = saliency_map(out.attention.float(), out.norm, out.activity)
    assert torch.isfinite(maps).all() and maps.max() == 1


def test_integer_features_are_refused_with_the_fix():
    with pytest.raises(TypeError, match=r'torch.int64.*\.float\(\)'):
        BRNPA(num_parts=2)(torch.ones(1, 4, 3, 3, dtype=torch.long))
