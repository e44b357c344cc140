"""Tasks per outer step: mmengine's optim_wrapper.accumulative_counts is
learn2learn's meta_batch_size (its examples' loop, reproduced here)."""
import copy
import os

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DATASETS
from mmengine.runner import Runner

from brnpa_plugins.fewshot import brnpa_episode_collate

from .conftest import CONFIG_DIR
from .test_fewshot_engine import ANIL, tiny_config, weights

META_BATCH = 2
OUTER_STEPS = 2


def anil_config(root, work_dir, accumulative_counts):
    cfg = tiny_config(root, work_dir, META_BATCH * OUTER_STEPS, config=ANIL)
    cfg.model.meta.update(adaptation_steps=1, eval_adaptation_steps=1)
    cfg.optim_wrapper.accumulative_counts = accumulative_counts
    cfg.train_dataloader.dataset.num_episodes = None
    cfg.train_dataloader.update(num_workers=0, persistent_workers=False)
    cfg.train_cfg.val_interval = 100  # no validation
    return cfg


def learn2learn_loop(model, dataset, lr):
    """learn2learn's examples: the query losses of meta_batch_size tasks
    backpropagated one by one, the gradients averaged, one Adam step."""
    optimizer = torch.optim.Adam(model.parameters(), lr)
    model.train()
    for step in range(OUTER_STEPS):
        optimizer.zero_grad()
        for task in range(META_BATCH):
            data = model.data_preprocessor(brnpa_episode_collate(
                [dataset[step * META_BATCH + task]]), True)
            losses = model(**data, mode='loss')
            loss, _ = model.parse_losses(losses)
            loss.backward()
        for parameter in model.parameters():
            if parameter.grad is not None:
                parameter.grad.mul_(1.0 / META_BATCH)
        optimizer.step()


def test_accumulative_counts_is_learn2learns_meta_batch(pickle_root,
                                                        tmp_path):
    cfg = anil_config(pickle_root, tmp_path / 'a', META_BATCH)
    runner = Runner.from_cfg(cfg)
    model = copy.deepcopy(runner.model)
    runner.train()
    trained = weights(runner)

    learn2learn_loop(model, DATASETS.build(cfg.train_dataloader.dataset),
                     cfg.optim_wrapper.optimizer.lr)
    expected = model.state_dict()
    assert trained.keys() == expected.keys()
    for name, value in expected.items():
        torch.testing.assert_close(trained[name], value, msg=name)

    # One task per step (accumulative_counts=1) trains other weights.
    single = Runner.from_cfg(anil_config(pickle_root, tmp_path / 'b', 1))
    single.train()
    assert any(not torch.allclose(value, expected[name])
               for name, value in weights(single).items()
               if value.is_floating_point())


@pytest.mark.parametrize('name', ['brnpa-maml_conv4_mini-imagenet_5way-1shot'
                                  '.py', 'brnpa-anil_resnet12_mini-imagenet_'
                                  '5way-1shot.py'])
def test_the_meta_configs_take_32_tasks_per_step(name):
    """learn2learn's MAML and ANIL examples: meta_batch_size 32."""
    cfg = Config.fromfile(os.path.join(CONFIG_DIR, name))
    counts = cfg.optim_wrapper.accumulative_counts
    assert counts == 32
    # Whole outer steps: validation, checkpoints and the end fall between
    # two of them.
    for interval in (cfg.train_cfg.max_iters, cfg.train_cfg.val_interval,
                     cfg.default_hooks.checkpoint.interval):
        assert interval % counts == 0, interval
