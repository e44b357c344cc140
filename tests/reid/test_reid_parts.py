"""Grouping options from the yacs config, and PCB-style part logits, through
torchreid's engines on the tiny Market-1501."""
import inspect
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
import torchreid

from brnpa_plugins.core import BRNPA
from brnpa_plugins.reid import ImageSoftmaxEngine, build_brnpa_reid
from brnpa_plugins.reid.build import build_datamanager, build_model
from brnpa_plugins.reid.config import build_config, get_default_config

GROUPING = ['model.brnpa.refine', 'False', 'model.brnpa.seed', 'random',
            'model.brnpa.activity', 'vector_norm',
            'model.brnpa.sort_by_activity', 'True']


def test_grouping_defaults_are_the_cores():
    defaults = inspect.signature(BRNPA).parameters
    brnpa = get_default_config().model.brnpa
    assert set(brnpa) == {'refine', 'seed', 'activity', 'sort_by_activity'}
    for key, value in brnpa.items():
        assert defaults[key].default == value, key


def test_grouping_options_reach_the_model(tiny):
    model = build_model(build_config('', tiny + GROUPING), 6)
    grouping = model.attention
    assert (grouping.refine, grouping.seed, grouping.activity,
            grouping.sort_by_activity) == (False, 'random', 'vector_norm',
                                           True)
    default = build_model(build_config('', tiny), 6).attention
    assert (default.refine, default.seed) == (True, 'max')


def test_grouping_options_reach_the_trained_model(market_root, reid_tool,
                                                  tiny, tmp_path):
    log = reid_tool('train_reid', ['--root', market_root, *tiny, *GROUPING,
                                   'data.save_dir', str(tmp_path)])
    assert ("BR-NPA grouping: BRNPA(num_parts=3, refine=False, "
            "seed='random', activity='vector_norm', sort_by_activity=True)"
            in log)
    assert 'Rank-1' in log


def test_a_misspelt_grouping_key_is_named(tiny):
    with pytest.raises(KeyError, match=r"'model.brnpa.sed' \(did you mean "
                       r"'model.brnpa.seed'\?\)"):
        build_config('', tiny + ['model.brnpa.sed', 'random'])


def test_part_logits_outputs():
    model = build_brnpa_reid('brnpa_resnet18', 5, 'triplet',
                             pretrained=False, embedding_dim=16,
                             part_logits=True)
    images = torch.rand(4, 3, 64, 32)
    logits, feature = model.train()(images)
    assert len(logits) == 3 and all(x.shape == (4, 5) for x in logits)
    assert feature.shape == (4, 3 * 512) and model.feature_dim == 3 * 512
    model.eval()
    embedded = model(images)
    parts = model.attend(images).features
    torch.testing.assert_close(embedded,
                               F.normalize(parts, dim=2).flatten(1))
    torch.testing.assert_close(embedded.view(4, 3, 512).norm(dim=2),
                               torch.ones(4, 3))
    # Distillation reads the mean of the part logits.
    torch.testing.assert_close(
        model.logits(images), torch.stack(
            model.part_scores(model.attend(images))).mean(0))
    # Without the option: one embedding, one classifier (old checkpoints).
    plain = build_brnpa_reid('brnpa_resnet18', 5, pretrained=False)
    assert 'classifier.weight' in plain.state_dict()
    assert 'classifier.2.weight' in model.state_dict()


def test_part_logits_train_with_the_loss_averaged_over_parts(
        market_root, tiny, tmp_path):
    cfg = build_config('', tiny + ['model.part_logits', 'True'],
                       root=market_root)
    datamanager = build_datamanager(cfg)
    model = build_model(cfg, datamanager.num_train_pids)
    optimizer = torchreid.optim.build_optimizer(model, optim='adam')
    engine = ImageSoftmaxEngine(datamanager, model, optimizer, use_gpu=False)
    data = next(iter(datamanager.train_loader))
    images, pids = engine.parse_data_for_train(data)
    model.train()
    outputs = model(images)
    assert isinstance(outputs, list) and len(outputs) == 3
    loss = engine.compute_loss(engine.criterion, outputs, pids)
    mean = sum(engine.criterion(x, pids) for x in outputs) / 3
    torch.testing.assert_close(loss, mean)
    engine.run(save_dir=str(tmp_path), max_epoch=1, print_freq=1)
    state = torch.load(osp.join(tmp_path, 'model', 'model.pth.tar-1'),
                       weights_only=True)['state_dict']
    assert {f'classifier.{k}.weight' for k in range(3)} <= set(state)


def test_part_logits_from_the_tool(market_root, reid_tool, reid_config,
                                   tiny, tmp_path):
    log = reid_tool('train_reid', [
        '--config-file',
        reid_config('brnpa_r50_triplet_256x128_market1501.yaml'),
        '--root', market_root, *tiny, 'model.part_logits', 'True',
        'sampler.num_instances', '2', 'data.save_dir', str(tmp_path)])
    assert 'Part logits: 3 identity classifiers, evaluation feature of ' \
        'size 1536' in log
    assert 'features of size 1536' in log  # what the evaluation ranks
    assert 'loss_t' in log and 'Rank-1' in log
