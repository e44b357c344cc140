"""Checkpoints shipped with the project load offline and hold their metrics."""
import os

import torch

from brnpa_plugins.data import SyntheticPartsConfig, generate_part_dataset
from brnpa_plugins.evaluation.pointing import pointing_game_on_predictions
from brnpa_plugins.zoo import download_checkpoint, get_entry, zoo_entries

DEMO = 'brnpa_resnet18-w16_1xb32_synthetic-parts'


def test_every_shipped_checkpoint_is_in_the_repository_and_verifies(cache):
    shipped = [e for e in zoo_entries().values() if e.weights and
               e.weights.startswith('file://')]
    assert DEMO in [e.name for e in shipped]
    for entry in shipped:
        path = download_checkpoint(entry.weights, entry.sha256)
        assert path.parent == cache
        assert 'state_dict' in torch.load(path, weights_only=True)


def test_demo_model_from_the_zoo_keeps_its_published_metrics(tmp_path):
    import mmpretrain

    import brnpa_plugins.openmmlab  # noqa: F401
    from brnpa_plugins.apis import BRNPAInferencer
    entry = get_entry(DEMO)
    root = generate_part_dataset(str(tmp_path / 'parts'),
                                 SyntheticPartsConfig())
    model = mmpretrain.get_model(DEMO, pretrained=True, device='cpu')
    with open(os.path.join(root, 'images.txt')) as ids, \
            open(os.path.join(root, 'train_test_split.txt')) as splits:
        tests = [os.path.join(root, 'images', line.split()[1])
                 for line, split in zip(ids, splits)
                 if split.split()[1] == '0']
    samples = BRNPAInferencer(model)(tests, batch_size=50,
                                     return_datasamples=True)
    predictions = [dict(s.to_dict(), img_path=path)
                   for s, path in zip(samples, tests)]
    # class folders are named 001.<name>, 002.<name>, ...
    labels = [int(os.path.basename(os.path.dirname(p))[:3]) - 1
              for p in tests]
    assert len(labels) == 200
    accuracy = 100 * sum(int(p['pred_label'][0]) == label
                         for p, label in zip(predictions, labels)) / 200
    hits, _ = pointing_game_on_predictions(predictions, root, tolerance=8.0)
    assert accuracy == entry.metrics['Top 1 Accuracy']
    assert abs(float(hits.nanmean()) - entry.metrics['Pointing Game']) < 0.02
