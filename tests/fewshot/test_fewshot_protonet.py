import pytest
import torch

from brnpa_plugins.fewshot import BRNPAProtoNet
from brnpa_plugins.fewshot.protonet import class_means

TINY = dict(widths=(4, 6, 8, 10))


def make_episode(ways=3, shots=2, queries=4, size=32):
    torch.manual_seed(0)
    support = torch.rand(ways * shots, 3, size, size)
    labels = torch.arange(ways).repeat_interleave(shots)
    return support, labels, torch.rand(ways * queries, 3, size, size)


@pytest.mark.parametrize('backbone', ['resnet12', 'conv4', 'resnet18'])
def test_logits_are_queries_by_ways(backbone):
    support, labels, query = make_episode()
    logits = BRNPAProtoNet(backbone, **TINY)(support, labels, query)
    assert logits.shape == (12, 3)
    assert torch.isfinite(logits).all()


def test_ranked_maps_of_support_and_query_images():
    support, labels, query = make_episode()
    model = BRNPAProtoNet(num_parts=3, **TINY)
    out = model.forward_with_maps(support, labels, query)
    assert out.logits.shape == (12, 3)
    for images, maps in ((support, out.support), (query, out.query)):
        batch = images.shape[0]
        assert maps.features.shape == (batch, 3, 10)
        assert maps.attention.shape == (batch, 3, 8, 8)
        assert maps.norm.shape == (batch, 8, 8)
        assert maps.activity.shape == (batch, 3)
        assert torch.allclose(maps.attention.sum(dim=(2, 3)),
                              torch.ones(batch, 3), atol=1e-5)
        assert bool((maps.attention >= 0).all())


@pytest.mark.parametrize('metric', ['euclidean', 'cosine'])
@pytest.mark.parametrize('partwise', [False, True])
def test_each_query_matches_the_prototype_of_its_own_image(metric, partwise):
    support, labels, _ = make_episode(shots=1)
    model = BRNPAProtoNet(metric=metric, partwise=partwise, **TINY).eval()
    with torch.no_grad():
        logits = model(support, labels, support)
    assert torch.equal(logits.argmax(dim=1), labels)


def test_partwise_euclidean_is_the_concatenated_distance_over_n():
    support, labels, query = make_episode()
    concat = BRNPAProtoNet(**TINY).eval()
    partwise = BRNPAProtoNet(partwise=True, **TINY).eval()
    partwise.load_state_dict(concat.state_dict())
    with torch.no_grad():
        assert torch.allclose(partwise(support, labels, query) * 3,
                              concat(support, labels, query), rtol=1e-4)


def test_average_pooling_is_one_uniform_part():
    support, labels, query = make_episode()
    model = BRNPAProtoNet(pooling='average', **TINY)
    out = model.forward_with_maps(support, labels, query)
    assert model.embedding_dim == 10
    assert out.query.features.shape == (12, 1, 10)
    assert torch.allclose(out.query.attention, torch.full_like(
        out.query.attention, 1 / 64))


def test_learned_scale_receives_gradients():
    support, labels, query = make_episode()
    model = BRNPAProtoNet(metric='cosine', learn_scale=True, **TINY)
    model(support, labels, query).logsumexp(1).sum().backward()
    assert model.scale.grad is not None


def test_prototypes_are_class_means():
    embeddings = torch.tensor([[1., 0.], [3., 2.], [5., 5.]])
    means = class_means(embeddings, torch.tensor([1, 1, 0]))
    assert torch.equal(means, torch.tensor([[5., 5.], [2., 1.]]))


def test_a_class_without_support_images_is_named():
    with pytest.raises(ValueError, match=r'classes \[1\]'):
        class_means(torch.rand(2, 4), torch.tensor([0, 2]))


@pytest.mark.parametrize('kwargs, match', [
    (dict(metric='manhattan'), 'metric must be one of'),
    (dict(pooling='max'), 'pooling must be one of'),
    (dict(scale=0), 'scale must be > 0'),
    (dict(num_parts=0), 'num_parts'),
])
def test_invalid_arguments_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        BRNPAProtoNet(**TINY, **kwargs)


def test_an_unknown_argument_names_the_closest_one():
    with pytest.raises(TypeError, match="BRNPAProtoNet: unknown argument "
                       r"'num_part' \(did you mean 'num_parts'\?\); known "
                       'arguments: backbone, widths'):
        BRNPAProtoNet(**TINY, num_part=3)
    # The core grouping's options, given as brnpa=dict(...).
    with pytest.raises(TypeError, match="BRNPA: unknown argument 'refin' "
                       r"\(did you mean 'refine'\?\)"):
        BRNPAProtoNet(**TINY, brnpa=dict(refin=False))
