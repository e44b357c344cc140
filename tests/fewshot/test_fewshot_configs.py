"""Every configs/fewshot config: it builds, and the episodic ones start
from the pre-training config with the same learner."""
import os
import re

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import MODELS

from .conftest import CONFIG_DIR

NAMES = sorted(name for name in os.listdir(CONFIG_DIR)
               if name.endswith('.py'))
CHECKPOINT = re.compile(r'^work_dirs/(?P<config>[^/]+)/(?P<file>[^/]+)$')


def load(name):
    return Config.fromfile(os.path.join(CONFIG_DIR, name))


def producer(path):
    """The config whose run writes ``path`` (work_dirs/<config>/<file>)."""
    match = CHECKPOINT.match(path)
    assert match, path
    assert match['config'] + '.py' in NAMES, path
    return load(match['config'] + '.py'), match['file']


def test_there_is_one_config_per_recipe():
    assert len(NAMES) == 18
    assert not os.path.exists(os.path.join(CONFIG_DIR, 'mmengine'))
    pretraining = [n for n in NAMES if load(n).model.type ==
                   'BRNPAPretrainModel']
    assert len(pretraining) == 7


@pytest.mark.parametrize('name', NAMES)
def test_the_config_builds_and_names_its_inputs(name):
    cfg = load(name)
    assert cfg.test_dataloader.dataset.num_episodes >= 600
    assert [hook.type for hook in cfg.custom_hooks] == [
        'BRNPAEpisodeMapsHook', 'BRNPAFewShotMetricsHook']
    model = cfg.model.to_dict()
    learner = model['learner']
    if learner['widths'] is not None:  # a built-in backbone
        learner['widths'] = (4, 6, 8, 10)
    channels = learner['in_channels']
    if model['type'] == 'BRNPAPretrainModel':
        assert cfg.train_dataloader.dataset.type == 'BRNPABaseClassDataset'
        assert cfg.default_hooks.checkpoint.get('save_best') is None
        built = MODELS.build(model)
        logits = built(torch.rand(2, channels, 32, 32), mode='tensor')
        assert logits.shape == (2, model['num_classes'])
        return
    # learn2learn's protocol: a new training episode at every iteration.
    assert cfg.train_dataloader.dataset.num_episodes is None
    if model['pretrained'] is not None:
        source, file = producer(model['pretrained'])
        assert source.model.type == 'BRNPAPretrainModel'
        assert file == f'epoch_{source.train_cfg.max_epochs}.pth'
        assert source.model.learner == cfg.model.learner
        assert source.train_dataloader.dataset.benchmark == \
            cfg.test_dataloader.dataset.benchmark
    if model['distill'] is not None:
        teacher, file = producer(model['distill']['teacher_checkpoint'])
        assert file == f'iter_{teacher.train_cfg.max_iters}.pth'
        assert teacher.model.learner == {**cfg.model.learner,
                                         **model['distill']['teacher_model']}
    model.update(pretrained=None, distill=None)
    built = MODELS.build(model)
    support = torch.rand(2, channels, 32, 32)
    logits = built(dict(support=support, query=support[:1]),
                   dict(support_labels=torch.tensor([0, 1]),
                        query_labels=torch.tensor([0])), mode='tensor')
    ways = 2 if model['meta'] is None else model['meta']['ways']
    assert logits.shape == (1, ways)


def test_every_exported_name_resolves():
    import brnpa_plugins.fewshot as fewshot
    assert set(fewshot._ENGINE) <= set(fewshot.__all__)
    for name in fewshot.__all__:
        assert getattr(fewshot, name) is not None, name
    assert not hasattr(fewshot, 'FewShotRunner')
