"""Base-class pre-training: its dataset, its model, and the configs of the
other backbones and data sets through tools/train_fewshot.py."""
import os

import pytest
import torch

from brnpa_plugins.core.io import load_checkpoint_file
from brnpa_plugins.fewshot import BRNPABaseClassDataset, BRNPAPretrainModel
from brnpa_plugins.fewshot.checkpoint import learner_state

from .conftest import CONFIG_DIR, TINY_WIDTHS, tiny_options

TINY_SPLIT = (8, 5, 5)


def test_the_classes_are_numbered_from_0(omniglot_root):
    # Omniglot's validation characters keep their global labels in
    # learn2learn; the dataset numbers them 0..4.
    dataset = BRNPABaseClassDataset('omniglot', omniglot_root, 'validation',
                                    image_size=16, mean=(0.5, ),
                                    std=(0.5, ), class_split=TINY_SPLIT)
    assert dataset.channels == 1 and dataset.num_classes == 5
    assert min(dataset.dataset.labels) > 0
    items = [dataset[index] for index in range(len(dataset))]
    assert sorted({int(item['data_samples']) for item in items}) == list(
        range(5))
    assert items[0]['inputs'].shape == (1, 16, 16)
    with pytest.raises(ValueError, match='split must be one of'):
        BRNPABaseClassDataset('omniglot', omniglot_root, 'val')


def test_the_pretraining_model_trains_a_linear_layer_on_the_parts():
    torch.manual_seed(0)
    model = BRNPAPretrainModel(learner=dict(widths=TINY_WIDTHS, num_parts=2),
                               num_classes=4, dropout=0.5)
    assert model.classifier.fc.in_features == 2 * 64
    assert model.learner is model.classifier.learner
    images, labels = torch.rand(3, 3, 32, 32), torch.tensor([0, 3, 1])
    losses = model(images, labels, mode='loss')
    assert losses['loss'].requires_grad and 0 <= losses['accuracy'] <= 100
    # The learner's weights are saved once, under classifier.learner.
    assert set(learner_state(dict(state_dict=model.state_dict()))) == set(
        model.learner.state_dict())
    with pytest.raises(ValueError, match='set model.num_classes'):
        model(images, torch.tensor([0, 4, 1]), mode='loss')
    with pytest.raises(ValueError, match='BRNPABaseClassDataset'):
        model(dict(support=images, query=images),
              dict(support_labels=labels, query_labels=labels), mode='loss')
    with pytest.raises(ValueError, match='num_classes must be an integer'):
        BRNPAPretrainModel(learner=dict(widths=TINY_WIDTHS))


@pytest.mark.parametrize('config, root, check', [
    ('brnpa-pretrain_resnet12-dropblock_1xb128-100e_mini-imagenet.py',
     'pickle_root', 'classifier.learner.backbone.layer4.1.num_steps'),
    ('brnpa-pretrain_l2l-resnet12_1xb128-100e_mini-imagenet.py',
     'pickle_root', 'classifier.learner.backbone.network.layer4.0.conv1.'
     'weight'),
    ('brnpa-pretrain_resnet12_1xb128-100e_image-folder.py', 'folder_root',
     'classifier.fc.weight'),
], ids=['dropblock', 'l2l-resnet12', 'image-folder'])
def test_the_pretraining_configs_run(train_fewshot, request, tmp_path,
                                     config, root, check):
    options = tiny_options(request.getfixturevalue(root), pretrain=True)
    if 'l2l' in config:  # the network's own widths
        options = [o for o in options if 'widths' not in o]
    metrics = train_fewshot([os.path.join(CONFIG_DIR, config), '--work-dir',
                             str(tmp_path), '--cfg-options', *options])
    assert metrics['fewshot/episodes'] == 3
    weights = load_checkpoint_file(tmp_path / 'epoch_1.pth')['state_dict']
    assert check in weights
    if 'dropblock' in config:
        # The DropBlock schedule's pass count: one per training batch.
        assert int(weights[check]) == 3
    if 'image-folder' in config:
        assert weights[check].shape[0] == 8  # model.num_classes
