"""MAML and ANIL on BR-NPA embeddings through learn2learn.algorithms.MAML."""
import copy
import os

import learn2learn as l2l
import pytest
import torch
import torch.nn.functional as F

from brnpa_plugins.fewshot import (BRNPAMetaLearner, BRNPAProtoNet,
                                   build_dataset, build_taskset,
                                   build_transform, episode_loss,
                                   split_episode)
from brnpa_plugins.fewshot.accuracy import query_accuracy

from .conftest import CONFIG_DIR, tiny_options

TINY = dict(widths=(4, 6, 8, 10), num_parts=2)


@pytest.fixture(scope='module')
def taskset(pickle_root):
    dataset = build_dataset('mini-imagenet', pickle_root, 'train',
                            build_transform(32, pixels_0_255=True))
    return build_taskset(dataset, ways=3, shots=2, queries=2)


@pytest.fixture
def episode(taskset):
    torch.manual_seed(0)
    return split_episode(taskset.sample(), shots=2)


def learner(algorithm, **kwargs):
    torch.manual_seed(0)
    return BRNPAMetaLearner(BRNPAProtoNet(**TINY), 3, algorithm, **kwargs)


def test_the_head_is_learn2learns_maml():
    anil, maml = learner('anil'), learner('maml')
    assert isinstance(anil.head, l2l.algorithms.MAML)
    assert isinstance(maml.maml, l2l.algorithms.MAML)
    # The head sees the concatenated parts: N x C inputs, W outputs.
    assert anil.head.module.weight.shape == (3, 2 * 10)
    assert maml.maml.module.head.weight.shape == (3, 2 * 10)


def test_anil_takes_gradient_steps_on_the_head_only(episode):
    # The running statistics: the embedding is that of eval mode.
    model = learner('anil', inner_lr=0.5, adaptation_steps=1,
                    eval_batch_norm='running').eval()
    with torch.no_grad():
        logits = model(episode.support, episode.support_labels,
                       episode.query)
    # By hand: one SGD step of the head on the support cross-entropy, on
    # the embedding's features, which the inner loop leaves as they are.
    with torch.no_grad():
        features = model.embed(torch.cat([episode.support, episode.query])
                               ).features.flatten(1)
    support, query = features[:6], features[6:]
    weight = model.head.module.weight.detach().requires_grad_()
    bias = model.head.module.bias.detach().requires_grad_()
    loss = F.cross_entropy(F.linear(support, weight, bias),
                           episode.support_labels)
    grad_w, grad_b = torch.autograd.grad(loss, (weight, bias))
    expected = F.linear(query, weight - 0.5 * grad_w, bias - 0.5 * grad_b)
    assert torch.allclose(logits, expected, atol=1e-5)
    assert not logits.requires_grad


@pytest.mark.parametrize('algorithm', ['anil', 'maml'])
def test_adaptation_lowers_the_support_loss(episode, algorithm):
    model = learner(algorithm, inner_lr=0.05, adaptation_steps=3,
                    eval_batch_norm='running').eval()
    support, labels = episode.support, episode.support_labels
    with torch.no_grad():
        unadapted = model.head(model.embed(support).features.flatten(1)) \
            if algorithm == 'anil' else model.maml(support)
        before = F.cross_entropy(unadapted, labels)
        after = F.cross_entropy(model(support, labels, support), labels)
    assert after < before


def test_maml_adapts_the_embedding_too(episode):
    model = learner('maml', inner_lr=0.5, adaptation_steps=1,
                    eval_batch_norm='running').eval()
    out = model.forward_with_maps(episode.support, episode.support_labels,
                                  episode.query)
    with torch.no_grad():
        unadapted = model.embed(episode.query).features
    # The maps come from the adapted network, whose embedding moved.
    assert not torch.allclose(out.query.features, unadapted)
    assert out.query.attention.shape == (6, 2, 8, 8)


@pytest.mark.parametrize('algorithm', ['anil', 'maml'])
def test_the_query_loss_trains_through_the_adaptation(episode, algorithm):
    model = learner(algorithm, adaptation_steps=2).train()
    logits = model(episode.support, episode.support_labels, episode.query)
    F.cross_entropy(logits, episode.query_labels).backward()
    backbone = model.learner.backbone.layer1[0].body[0][0].weight
    assert backbone.grad is not None and backbone.grad.abs().sum() > 0
    head = (model.head.module if algorithm == 'anil'
            else model.maml.module.head).weight
    assert head.grad.abs().sum() > 0


@pytest.mark.parametrize('algorithm', ['anil', 'maml'])
def test_the_episode_loss_trains_it_and_eval_mode_tests_it(taskset,
                                                           algorithm):
    model = learner(algorithm, adaptation_steps=1, eval_adaptation_steps=2)
    optimizer = torch.optim.Adam(model.parameters(), 1e-3)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.train()
    for _ in range(2):
        loss, logits = episode_loss(model, split_episode(taskset.sample(), 2))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert logits.shape == (6, 3)
    assert any(not torch.equal(value, model.state_dict()[name])
               for name, value in before.items())
    model.eval()
    with torch.no_grad():
        episode = split_episode(taskset.sample(), 2)
        logits = model(episode.support, episode.support_labels,
                       episode.query)
    assert not logits.requires_grad
    assert 0 <= query_accuracy(logits, episode.query_labels) <= 1


def running_statistics(model):
    return {name: buffer.clone() for name, buffer in model.named_buffers()
            if 'running' in name or 'num_batches' in name}


def learn2learn_maml(model, inner_lr, steps, episode):
    """learn2learn's MAML example at meta-test: a copy of the network in
    training mode (the example never calls eval()), cloned by
    ``l2l.algorithms.MAML``, adapted on the support set, then run on the
    queries."""
    network = copy.deepcopy(model.maml.module).train()
    learner = l2l.algorithms.MAML(network, lr=inner_lr).clone()
    for _ in range(steps):
        learner.adapt(F.cross_entropy(learner(episode.support),
                                      episode.support_labels))
    return learner(episode.query)


def learn2learn_anil(model, inner_lr, steps, episode):
    """learn2learn's ANIL example: the features of the whole task (support
    and queries in one batch, training mode), then a clone of the head
    adapted on the support features."""
    features = copy.deepcopy(model.embedding).train()
    data = features.embed(torch.cat([episode.support, episode.query])
                          ).features.flatten(1)
    support, query = data[:len(episode.support)], data[len(episode.support):]
    learner = l2l.algorithms.MAML(copy.deepcopy(model.head.module),
                                  lr=inner_lr).clone()
    for _ in range(steps):
        learner.adapt(F.cross_entropy(learner(support),
                                      episode.support_labels))
    return learner(query)


@pytest.mark.parametrize('algorithm, reference', [
    ('maml', learn2learn_maml), ('anil', learn2learn_anil)])
def test_eval_mode_adapts_with_batch_statistics_as_learn2learn(
        taskset, algorithm, reference):
    torch.manual_seed(0)
    model = BRNPAMetaLearner(BRNPAProtoNet(backbone='conv4',
                                           widths=(4, 6, 8, 10),
                                           num_parts=2),
                             3, algorithm, inner_lr=0.5, adaptation_steps=1,
                             eval_adaptation_steps=2)
    model.train()  # running statistics that are not those of an episode
    for _ in range(3):
        episode = split_episode(taskset.sample(), 2)
        model(episode.support, episode.support_labels, episode.query)
    model.eval()
    before = running_statistics(model)
    episode = split_episode(taskset.sample(), 2)
    with torch.no_grad():
        logits = model(episode.support, episode.support_labels,
                       episode.query)
    expected = reference(model, 0.5, 2, episode)
    torch.testing.assert_close(logits, expected.detach())
    # The running statistics are left as they were (learn2learn's example
    # updates them) and the model is still in eval mode.
    after = running_statistics(model)
    assert before.keys() == after.keys() and before
    for name, value in before.items():
        assert torch.equal(after[name], value), name
    assert not any(module.training for module in model.modules())
    # The running statistics give other logits.
    model.eval_batch_norm = 'running'
    with torch.no_grad():
        running = model(episode.support, episode.support_labels,
                        episode.query)
    assert not torch.allclose(running, logits, atol=1e-3)


def test_episodes_with_more_ways_than_the_head_are_refused(episode):
    model = BRNPAMetaLearner(BRNPAProtoNet(**TINY), 2, 'anil')
    with pytest.raises(ValueError, match=r'support_labels must be in 0..1 '
                       r'\(meta.ways=2\)'):
        model(episode.support, episode.support_labels, episode.query)


@pytest.mark.parametrize('kwargs, match', [
    (dict(algorithm='reptile'), 'meta.algorithm must be one of'),
    (dict(inner_lr=0), 'meta.inner_lr must be > 0'),
    (dict(adaptation_steps=0), 'adaptation_steps must be a positive'),
    (dict(eval_batch_norm='train'), r"meta.eval_batch_norm must be one of "
     r"\('batch', 'running'\), got 'train'"),
])
def test_bad_meta_options_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        BRNPAMetaLearner(BRNPAProtoNet(**TINY), 3, **kwargs)


ANIL = os.path.join(CONFIG_DIR,
                    'brnpa-anil_resnet12_mini-imagenet_5way-1shot.py')
STEPS = ['model.meta.adaptation_steps=1', 'model.meta.eval_adaptation_steps=1']


def test_the_anil_config_starts_from_the_pretraining(
        train_fewshot, pretrained, pickle_root, tmp_path):
    path = pretrained[0] / 'epoch_1.pth'
    metrics = train_fewshot([
        ANIL, '--work-dir', str(tmp_path), '--cfg-options',
        *tiny_options(pickle_root, max_iters=2), *STEPS,
        f'model.pretrained={path}'])
    assert 0 <= metrics['fewshot/accuracy'] <= 100
    assert metrics['fewshot/episodes'] == 3
    assert len(os.listdir(tmp_path / 'maps')) == 4
    log = next(tmp_path.glob('*/*.log')).read_text()
    assert f'learner weights loaded from {path}' in log


def test_meta_ways_must_match_the_episodes(train_fewshot, pickle_root,
                                           tmp_path):
    options = [ANIL, '--work-dir', str(tmp_path), '--cfg-options',
               *tiny_options(pickle_root, max_iters=2), *STEPS]
    with pytest.raises(ValueError, match=r'support_labels must be in 0\.\.2 '
                       r'\(meta.ways=3\)'):
        train_fewshot(options + ['model.meta.ways=3'])
    with pytest.raises(TypeError, match=r"unknown argument 'inner_rl' "
                       r"\(did you mean 'inner_lr'\?\)"):
        train_fewshot(options + ['model.meta.inner_rl=0.1'])


def test_maml_adapts_a_network_cut_at_its_feature_map(episode):
    # learn2learn clones the torchvision ResNet with the hook that stops it
    # at layer4; its unused fc gets no gradient.
    torch.manual_seed(0)
    embedding = BRNPAProtoNet(backbone='torchvision.models.resnet18',
                              num_parts=2)
    model = BRNPAMetaLearner(embedding, 3, 'maml', inner_lr=0.5,
                             adaptation_steps=1, first_order=True).eval()
    out = model.forward_with_maps(episode.support, episode.support_labels,
                                  episode.query)
    assert out.logits.shape == (6, 3)
    assert out.query.attention.shape == (6, 2, 4, 4)
    with torch.no_grad():
        unadapted = model.embed(episode.query).features
    assert not torch.allclose(out.query.features, unadapted)
