"""Checkpoints shipped with the project load offline and hold their metrics,
and the ground-truth benchmark's controls behave on the trained model."""
import os

import numpy as np
import pytest
import torch

from brnpa_plugins.data import SyntheticPartsConfig, generate_part_dataset
from brnpa_plugins.data.synthetic import load_objects
from brnpa_plugins.zoo import download_checkpoint, get_entry, zoo_entries

DEMO = 'brnpa_resnet18-w16_1xb32_synthetic-parts'


def test_every_shipped_checkpoint_is_in_the_repository_and_verifies(cache):
    shipped = [e for e in zoo_entries().values() if e.weights and
               e.weights.startswith('file://')]
    assert DEMO in [e.name for e in shipped]
    for entry in shipped:
        path = download_checkpoint(entry.weights, entry.sha256)
        assert path.parent.parent == cache
        assert 'state_dict' in torch.load(path, weights_only=True)


@pytest.fixture(scope='module')
def benchmark(tmp_path_factory):
    """The default generated benchmark, its test images and their truth."""
    root = generate_part_dataset(str(tmp_path_factory.mktemp('gt') / 'd'),
                                 SyntheticPartsConfig())
    with open(os.path.join(root, 'images.txt')) as ids, \
            open(os.path.join(root, 'train_test_split.txt')) as splits:
        tests = [line.split()[1] for line, split in zip(ids, splits)
                 if split.split()[1] == '0']
    objects = load_objects(root)
    return root, tests, [objects[path] for path in tests]


@pytest.fixture(scope='module')
def demo_model():
    import mmpretrain

    import brnpa_plugins.openmmlab  # noqa: F401
    return mmpretrain.get_model(DEMO, pretrained=True, device='cpu').eval()


def test_demo_model_from_the_zoo_keeps_its_published_metrics(
        benchmark, demo_model):
    from brnpa_plugins.openmmlab import BRNPAInferencer
    from brnpa_plugins.core import saliency_map
    from brnpa_plugins.evaluation.ground_truth import (GroundTruth,
                                                       decisive_energy,
                                                       decisive_pointing)
    root, tests, objects = benchmark
    entry = get_entry(DEMO)
    samples = BRNPAInferencer(demo_model)(
        [os.path.join(root, 'images', p) for p in tests], batch_size=60,
        return_datasamples=True)
    # class folders are named 001.<name>, 002.<name>, ...
    labels = [int(p.split('/')[0][:3]) - 1 for p in tests]
    assert len(labels) == 240
    accuracy = 100 * np.mean([int(s.pred_label[0]) == label
                              for s, label in zip(samples, labels)])
    saliency = saliency_map(
        torch.stack([s.attention_maps for s in samples]),
        torch.stack([s.feature_norm for s in samples]),
        torch.stack([s.part_activity for s in samples]))
    truth = GroundTruth.from_objects(objects)
    hits = decisive_pointing(saliency, truth, (96, 96), tolerance=4.0)
    energy = decisive_energy(saliency, truth, (96, 96))
    assert round(accuracy, 1) == entry.metrics['Top 1 Accuracy']
    assert abs(float(hits.mean()) -
               entry.metrics['Decisive Pointing']) < 0.02
    assert abs(float(energy.mean()) -
               entry.metrics['Decisive Energy']) < 0.02


def test_oracle_beats_anti_oracle_and_model_free_map_on_the_trained_model(
        benchmark, demo_model):
    """The benchmark is valid only if its controls behave (issue: an
    oracle that cannot beat the distractors or a model-free map would make
    every score meaningless)."""
    from mmengine.dataset import Compose
    from mmpretrain.registry import TRANSFORMS

    from brnpa_plugins.evaluation import compute_saliency, evaluate_maps
    from brnpa_plugins.evaluation.ground_truth import (GroundTruth,
                                                       decisive_energy,
                                                       decisive_pointing)
    root, tests, objects = benchmark
    chosen = list(range(0, 240, 8))  # 30 images, 5 per class
    pipeline = Compose([TRANSFORMS.build(dict(type='LoadImageFromFile')),
                        TRANSFORMS.build(dict(type='PackInputs'))])
    batch = [pipeline(dict(img_path=os.path.join(root, 'images', tests[i])))
             for i in chosen]
    data = demo_model.data_preprocessor(
        {'inputs': [b['inputs'] for b in batch],
         'data_samples': [b['data_samples'] for b in batch]}, False)
    images = data['inputs']
    truth = GroundTruth.from_objects([objects[i] for i in chosen])
    context = dict(ground_truth=truth, stride=8,
                   mean=demo_model.data_preprocessor.mean.flatten().tolist(),
                   std=demo_model.data_preprocessor.std.flatten().tolist())
    scores = {}
    for method in ('oracle', 'anti-oracle', 'saturation'):
        maps = compute_saliency(method, demo_model, images, None, **context)
        result = evaluate_maps(demo_model, images, maps, max_steps=12,
                               batch_size=128).scores
        scores[method] = {
            'pointing': decisive_pointing(maps, truth, (96, 96), 4).mean(),
            'energy': decisive_energy(maps, truth, (96, 96)).mean(),
            'dauc': result['dauc'].mean(), 'iauc': result['iauc'].mean()}
    for other in ('anti-oracle', 'saturation'):
        assert scores['oracle']['pointing'] > scores[other]['pointing']
        assert scores['oracle']['energy'] > scores[other]['energy']
        assert scores['oracle']['dauc'] < scores[other]['dauc'], scores
        assert scores['oracle']['iauc'] > scores[other]['iauc'], scores


def test_trained_maps_differ_from_the_maps_of_randomised_weights(
        benchmark, demo_model):
    """Model-parameter randomisation (Adebayo et al., 2018): BR-NPA's map
    must depend on the trained weights; a model-free map cannot."""
    from mmengine.dataset import Compose
    from mmpretrain.registry import TRANSFORMS

    from brnpa_plugins.evaluation import compute_saliency
    from brnpa_plugins.evaluation.ground_truth import (map_similarity,
                                                       randomised_copy)
    from brnpa_plugins.openmmlab.saliency_metric import saliency_context
    root, tests, _ = benchmark
    pipeline = Compose([TRANSFORMS.build(dict(type='LoadImageFromFile')),
                        TRANSFORMS.build(dict(type='PackInputs'))])
    batch = [pipeline(dict(img_path=os.path.join(root, 'images', tests[i])))
             for i in range(0, 240, 12)]
    images = demo_model.data_preprocessor(
        {'inputs': [b['inputs'] for b in batch]}, False)['inputs']
    randomised = randomised_copy(demo_model, seed=0)

    def maps(model, method):
        return compute_saliency(method, model, images, None,
                                **saliency_context(model), stride=8)

    trained = map_similarity(maps(demo_model, 'attention'),
                             maps(randomised, 'attention'))
    free = map_similarity(maps(demo_model, 'saturation'),
                          maps(randomised, 'saturation'))
    assert float(trained.mean()) < 0.9
    assert float(free.mean()) == pytest.approx(1.0)
