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


def random_features(seed=0, shape=(4, 16, 5, 7), signed=False):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=generator)
    return x if signed else x.relu()


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
                       'eps, check_finite$'):
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


@pytest.mark.parametrize('value, counts', [
    (float('nan'), '1 NaN, 0 \\+inf and 0 -inf'),
    (float('inf'), '0 NaN, 1 \\+inf and 0 -inf'),
    (float('-inf'), '0 NaN, 0 \\+inf and 1 -inf')])
@pytest.mark.parametrize('training', [True, False])
def test_non_finite_features_are_refused(value, counts, training):
    x = random_features(6, (3, 8, 4, 4))
    x[1, 2, 3, 0] = value
    model = BRNPA(num_parts=2).train(training)
    with pytest.raises(ValueError, match=(
            r'BRNPA: the features to group \(shape \(3, 8, 4, 4\), '
            rf'torch.float32\) hold {counts} values, in image 1 of the '
            r'batch; .*float16 overflow.*bfloat16.*diverged.*learning '
            r'rate.*clip_grad.*check_finite=False')):
        model(x.requires_grad_(training))


def test_non_finite_float16_features_under_autocast_are_refused():
    x = random_features(7, (2, 8, 3, 3)).half()
    x[0, 0, 0, 0] = float('inf')  # what a float16 overflow gives
    x[1, 0, 0, 0] = float('nan')
    with torch.autocast('cpu', dtype=torch.float16):
        with pytest.raises(ValueError, match=r'torch.float16\) hold 1 NaN, '
                           r'1 \+inf and 0 -inf values, in images 0, 1 of'):
            BRNPA(num_parts=2)(x)


def test_nan_from_a_bfloat16_autocast_backbone_is_refused_in_training():
    conv = torch.nn.Conv2d(3, 16, 3)
    with torch.no_grad():
        conv.weight[0, 0, 0, 0] = float('nan')  # a diverged weight
    with torch.autocast('cpu', dtype=torch.bfloat16):
        features = conv(torch.rand(2, 3, 8, 8)).relu()
        assert features.dtype == torch.bfloat16
        with pytest.raises(ValueError, match=r'torch.bfloat16\) hold 72 NaN'
                           r'.*in images 0, 1 of the batch'):
            BRNPA(num_parts=2).train()(features)


def test_finite_features_whose_norm_overflows_are_named_as_such():
    x = torch.full((1, 4, 2, 2), 1e30)
    with pytest.raises(ValueError, match=r'are finite, but their L2 norm '
                       r'over the 4 channels overflows float32 in image 0 .*'
                       r'largest \|value\| 1e\+30'):
        BRNPA(num_parts=1)(x)


def test_the_check_can_be_turned_off():
    x = random_features(8, (2, 8, 3, 3))
    x[0, 0, 1, 1] = float('nan')
    model = BRNPA(num_parts=2, check_finite=False)
    assert repr(model).endswith('sort_by_activity=False, '
                                'check_finite=False)')
    assert 'check_finite' not in repr(BRNPA(num_parts=2))
    out = model(x)
    assert torch.isnan(out.norm[0, 1, 1])
    assert torch.isfinite(out.attention[1]).all()  # other images unharmed


@pytest.mark.filterwarnings("ignore:`torch.jit.trace:FutureWarning",
                            "ignore::torch.jit.TracerWarning")
def test_a_traced_grouping_skips_the_check():
    # Tracing (FLOP counting, export) records tensor operations only: a
    # Python-level check would be fixed to the traced example's outcome.
    x = random_features(9, (1, 8, 4, 4))
    traced = torch.jit.trace(BRNPA(num_parts=2), x, check_trace=False)
    torch.testing.assert_close(traced(x)[1], BRNPA(num_parts=2)(x).attention)
    x[0, 0, 0, 0] = float('nan')
    assert torch.isnan(traced(x)[3][0, 0, 0])


@pytest.mark.parametrize('dtype', [torch.bfloat16, torch.float16])
def test_half_precision_on_cpu_computes_in_float32(dtype):
    # Under autocast and without, the products, norms and suppression run
    # in float32 on the upcast features: the outputs are exactly the
    # float32 grouping's, cast back.
    x = (random_features(10, (2, 300, 6, 6)) * 50).to(dtype)
    expected = BRNPA(num_parts=3)(x.float())
    with torch.autocast('cpu', dtype=dtype):
        under_autocast = BRNPA(num_parts=3)(x)
    for out in (under_autocast, BRNPA(num_parts=3)(x)):
        assert torch.equal(out.seeds, expected.seeds)
        assert out.features.dtype == out.attention.dtype == dtype
        assert torch.equal(out.features, expected.features.to(dtype))
        assert torch.equal(out.attention, expected.attention.to(dtype))
        assert out.norm.dtype == out.activity.dtype == torch.float32
        assert torch.equal(out.norm, expected.norm)
        assert torch.equal(out.activity, expected.activity)


def test_gradients_under_bfloat16_autocast_reach_the_features():
    x = random_features(11, (2, 32, 5, 5)).bfloat16().requires_grad_()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = BRNPA(num_parts=3)(x)
        loss = out.features.float().sum() + out.activity.sum()
    loss.backward()
    assert x.grad.dtype == torch.bfloat16
    reference = x.detach().float().requires_grad_()
    out32 = BRNPA(num_parts=3)(reference)
    (out32.features.sum() + out32.activity.sum()).backward()
    torch.testing.assert_close(x.grad.float(), reference.grad,
                               rtol=1e-2, atol=1e-2)


# The grouping against a plain float64 reference of spec section 3, forward
# and backward, for every option.

def reference_grouping(x, num_parts, refine=True, activity='attended_norm',
                       sort_by_activity=False, eps=1e-6, seeds=None):
    """BR-NPA one image at a time, as the spec writes it, in float64.

    ``seeds`` (B x N) imposes the seed locations (the random ablation);
    otherwise each seed is the argmax of the suppressed score.
    """
    outputs = {name: [] for name in ('features', 'attention', 'activity',
                                     'norm', 'seeds')}
    for b, image in enumerate(x.double()):
        vectors = image.flatten(1).t()  # L x C
        norm = vectors.norm(dim=1)
        n = norm + eps
        score = n
        features, attention, chosen = [], [], []
        for k in range(num_parts):
            j = int(score.argmax()) if seeds is None else int(seeds[b, k])
            c = (vectors @ vectors[j]) / (n * n[j])
            c = c.clamp(0, 1)  # signed features: negative cosines count 0
            if c.sum() > 0:
                a = c / c.sum()
            else:
                a = torch.full_like(c, 1 / len(c))
            features.append(a @ vectors if refine else vectors[j])
            attention.append(a)
            chosen.append(j)
            score = score * (1 - c)
        features, attention = torch.stack(features), torch.stack(attention)
        if activity == 'vector_norm':
            act = features.norm(dim=1)
        else:
            act = attention @ (norm / norm.max().clamp_min(eps))
        chosen = torch.tensor(chosen)
        if sort_by_activity:
            order = act.argsort(descending=True, stable=True)
            features, attention, act, chosen = (
                t[order] for t in (features, attention, act, chosen))
        for name, value in (('features', features), ('attention', attention),
                            ('activity', act), ('norm', norm),
                            ('seeds', chosen)):
            outputs[name].append(value)
    out = {name: torch.stack(values) for name, values in outputs.items()}
    out['attention'] = out['attention'].reshape(
        len(x), num_parts, *x.shape[2:])
    out['norm'] = out['norm'].reshape(len(x), *x.shape[2:])
    return out


FLOAT_OUTPUTS = ('features', 'attention', 'activity', 'norm')


def weighted_sum(outputs, weights):
    return sum((outputs[name].double() * weights[name]).sum()
               for name in FLOAT_OUTPUTS)


CASES = [
    # shape, options; 600 channels are 2 full blocks and a partial one of
    # the norm's channel blocks.
    ((2, 600, 7, 9), dict()),
    ((2, 600, 7, 9), dict(refine=False)),
    ((3, 64, 5, 5), dict(activity='vector_norm')),
    ((3, 64, 5, 5), dict(sort_by_activity=True)),
    ((2, 64, 4, 6), dict(refine=False, activity='vector_norm',
                         sort_by_activity=True)),
    ((2, 2048, 6, 6), dict()),
    ((2, 16, 1, 1), dict(num_parts=1)),
    ((2, 16, 2, 2), dict(num_parts=4)),
]


@pytest.mark.parametrize('signed', [False, True])
@pytest.mark.parametrize('shape, options', CASES)
def test_forward_and_backward_match_the_float64_reference(shape, options,
                                                          signed):
    options = dict(options)
    num_parts = options.pop('num_parts', 3)
    x = random_features(sum(shape), shape, signed).requires_grad_()
    out = BRNPA(num_parts, **options)(x)._asdict()
    x64 = x.detach().double().requires_grad_()
    expected = reference_grouping(x64, num_parts, **options)
    assert out['seeds'].tolist() == expected['seeds'].tolist()
    for name in FLOAT_OUTPUTS:
        torch.testing.assert_close(out[name], expected[name].float(),
                                   rtol=1e-5, atol=1e-6, msg=name)
    generator = torch.Generator().manual_seed(1)
    weights = {name: torch.randn(out[name].shape, generator=generator,
                                 dtype=torch.float64)
               for name in FLOAT_OUTPUTS}
    weighted_sum(out, weights).backward()
    weighted_sum(expected, weights).backward()
    scale = x64.grad.abs().max()
    assert scale > 0
    torch.testing.assert_close(x.grad.double() / scale, x64.grad / scale,
                               rtol=0, atol=2e-5)


def test_random_seeds_match_the_reference_at_the_same_seeds():
    x = random_features(3, (2, 32, 5, 6)).requires_grad_()
    torch.manual_seed(0)
    out = BRNPA(3, seed='random')(x)._asdict()
    x64 = x.detach().double().requires_grad_()
    expected = reference_grouping(x64, 3, seeds=out['seeds'])
    for name in FLOAT_OUTPUTS:
        torch.testing.assert_close(out[name], expected[name].float(),
                                   rtol=1e-5, atol=1e-6, msg=name)
    out['features'].sum().backward()
    expected['features'].sum().backward()
    torch.testing.assert_close(x.grad.double(), x64.grad, rtol=1e-4,
                               atol=1e-6)


def test_eval_and_training_give_the_same_outputs():
    # Without gradients the similarities of the seed search are used, with
    # them they are computed again in one product: the same values.
    x = random_features(5, (2, 300, 6, 7))
    model = BRNPA(3)
    with torch.no_grad():
        plain = model(x)
    trained = model(x.clone().requires_grad_())
    assert torch.equal(plain.seeds, trained.seeds)
    for name in FLOAT_OUTPUTS:
        torch.testing.assert_close(getattr(trained, name).detach(),
                                   getattr(plain, name), rtol=1e-6,
                                   atol=1e-7)


def test_an_all_zero_image_matches_the_reference_forward_and_backward():
    x = random_features(2, (2, 8, 3, 3))
    x[0] = 0
    x.requires_grad_()
    out = BRNPA(3)(x)._asdict()
    x64 = x.detach().double().requires_grad_()
    expected = reference_grouping(x64, 3)
    for name in FLOAT_OUTPUTS:
        torch.testing.assert_close(out[name], expected[name].float(),
                                   rtol=1e-5, atol=1e-6, msg=name)
    (out['features'].sum() + out['activity'].sum()).backward()
    (expected['features'].sum() + expected['activity'].sum()).backward()
    # uniform maps: each of the 3 parts averages the 9 locations
    torch.testing.assert_close(x.grad[0], torch.full((8, 3, 3), 1 / 3))
    torch.testing.assert_close(x.grad.double(), x64.grad, rtol=1e-4,
                               atol=1e-6)
