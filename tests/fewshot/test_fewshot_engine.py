"""Few-shot episodes through mmengine's real Runner, on the tiny pickles."""
import json
import os
import random
import subprocess
import sys
import uuid

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from brnpa_plugins.core.io import load_checkpoint_file
from brnpa_plugins.fewshot import (BRNPAEpisodeDataset, BRNPAFewShotModel,
                                   brnpa_episode_collate)
from brnpa_plugins.fewshot.checkpoint import (learner_state,
                                              load_learner_weights)
from brnpa_plugins.fewshot.engine import BRNPAEpisodeSampler
from brnpa_plugins.fewshot.episodes import Episode
from brnpa_plugins.fewshot.protonet import BRNPAProtoNet
from brnpa_plugins.fewshot.losses import build_distillation, episode_loss

from .test_fewshot_accuracy import episode_accuracies
from .conftest import (CONFIG_DIR, ONE_SHOT as CONFIG, REPO, TINY_WIDTHS,
                       tiny_options)

ANIL = os.path.join(CONFIG_DIR,
                    'brnpa-anil_resnet12_mini-imagenet_5way-1shot.py')
KD = os.path.join(CONFIG_DIR,
                  'brnpa-protonet-kd_resnet12_mini-imagenet_5way-1shot.py')
EPISODES = {'train_dataloader': 8, 'val_dataloader': 3,
            'test_dataloader': 4}


#: The config's loop and sampler, and mmengine's own.
LOOPS = {
    'episode': None,
    'mmengine': (dict(type='IterBasedTrainLoop'),
                 dict(type='InfiniteSampler', shuffle=False)),
}


def tiny_config(root, work_dir, max_iters, loop='episode', config=CONFIG,
                **model):
    """The mmengine config on 32 px tiny data, checkpointed every 2
    episodes."""
    cfg = Config.fromfile(config)
    cfg.work_dir = str(work_dir)
    # mmengine keeps one message hub (with the best score) per experiment
    # name, which is the config name and the second the runner starts.
    cfg.experiment_name = f'fewshot-{uuid.uuid4().hex}'
    cfg.model.learner.widths = TINY_WIDTHS
    cfg.model.pretrained = None
    cfg.model.update(model)
    if LOOPS[loop] is not None:
        cfg.train_cfg.update(LOOPS[loop][0])
        cfg.train_dataloader.sampler = LOOPS[loop][1]
    cfg.train_cfg.update(max_iters=max_iters, val_interval=2)
    cfg.default_hooks.checkpoint.interval = 2
    cfg.default_hooks.logger.interval = 1
    for name, count in EPISODES.items():
        loader = cfg[name]
        loader.update(num_workers=0, persistent_workers=False)
        loader.dataset.update(root=root, image_size=32, shots=2, queries=2,
                              num_episodes=count)
    if loop == 'episode':  # a worker process, kept across the resume
        cfg.train_dataloader.update(num_workers=1, persistent_workers=True)
    return cfg


def weights(runner):
    return {k: v.clone() for k, v in runner.model.state_dict().items()}


@pytest.mark.parametrize('loop', sorted(LOOPS))
def test_train_resume_and_test_in_percent(pickle_root, tmp_path, loop):
    straight = Runner.from_cfg(tiny_config(pickle_root, tmp_path / 'a', 4,
                                           loop))
    straight.train()
    expected = weights(straight)

    first = Runner.from_cfg(tiny_config(pickle_root, tmp_path / 'b', 2,
                                        loop))
    first.train()
    assert os.path.isfile(tmp_path / 'b' / 'iter_2.pth')
    # A plain torch.load (weights_only) reads the runner's checkpoint.
    saved = torch.load(tmp_path / 'b' / 'iter_2.pth')
    assert saved['meta']['iter'] == 2
    assert any(name.startswith('best_fewshot_accuracy_iter_2')
               for name in os.listdir(tmp_path / 'b'))

    cfg = tiny_config(pickle_root, tmp_path / 'b', 4, loop)
    cfg.resume = True
    resumed = Runner.from_cfg(cfg)
    resumed.train()
    assert resumed.iter == 4
    assert torch.load(tmp_path / 'b' / 'iter_4.pth')['meta']['iter'] == 4
    # Episodes 3 and 4 after the resume are those of the straight run, and
    # the optimiser state came back: the same weights.
    result = weights(resumed)
    assert result.keys() == expected.keys()
    for name, value in expected.items():
        torch.testing.assert_close(result[name], value, msg=name)
    if loop == 'episode':  # the indices started at the resumed iteration
        assert resumed.train_loop.dataloader.sampler.start == 2

    metrics = resumed.test()
    assert metrics['fewshot/episodes'] == EPISODES['test_dataloader']
    assert 0 <= metrics['fewshot/ci95']
    # Percent of the queries the model gets right, episode by episode.
    accuracies = episode_accuracies(resumed.model.learner,
                                    resumed.test_dataloader.dataset)
    assert metrics['fewshot/accuracy'] == pytest.approx(
        100 * sum(accuracies) / len(accuracies))


#: Where each algorithm keeps its head and its embedding.
META_PARTS = {'anil': ('learner.head.', 'learner.embedding.backbone.'),
              'maml': ('learner.maml.module.head.',
                       'learner.maml.module.embedding.backbone.')}


@pytest.mark.parametrize('algorithm', sorted(META_PARTS))
def test_meta_learners_train_and_test(pickle_root, tmp_path, algorithm):
    # The ANIL config, with fewer adaptation steps, and MAML on Conv-4.
    cfg = tiny_config(pickle_root, tmp_path, 2, config=ANIL)
    cfg.model.meta.update(algorithm=algorithm, adaptation_steps=1,
                          eval_adaptation_steps=2)
    if algorithm == 'maml':
        cfg.model.learner.update(backbone='conv4', widths=(8, 8, 8, 8))
    runner = Runner.from_cfg(cfg)
    assert type(runner.model.learner).__name__ == 'BRNPAMetaLearner'
    assert runner.model.learner.algorithm == algorithm
    before = weights(runner)
    runner.train()
    assert type(runner.optim_wrapper.optimizer).__name__ == 'Adam'
    assert not runner.param_schedulers
    after = weights(runner)
    changed = [name for name in before
               if not torch.equal(before[name], after[name])]
    for part in META_PARTS[algorithm]:
        assert any(name.startswith(part) for name in changed), part
    metrics = runner.test()
    assert 0 <= metrics['fewshot/accuracy'] <= 100
    assert metrics['fewshot/episodes'] == EPISODES['test_dataloader']
    # The ranked maps of the adapted learner (the config's hook).
    assert 'query_000.png' in os.listdir(tmp_path / 'maps')


def test_episodes_start_from_the_pretraining(pretrained, pickle_root,
                                             tmp_path):
    """Base-class pre-training by tools/train_fewshot.py, then episodes
    through the Runner from its weights (model.pretrained)."""
    path = str(pretrained[0] / 'epoch_1.pth')
    saved = load_checkpoint_file(path)['state_dict']
    assert 'classifier.fc.weight' in saved
    weights = learner_state(load_checkpoint_file(path))
    assert weights.keys() == {key[len('classifier.learner.'):]
                              for key in saved if key != 'classifier.fc.weight'}
    cfg = tiny_config(pickle_root, tmp_path / 'episodes', 2, pretrained=path)
    runner = Runner.from_cfg(cfg)
    loaded = runner.model.learner.state_dict()
    assert loaded.keys() == weights.keys()
    for name, value in weights.items():
        assert torch.equal(loaded[name], value), name
    runner.train()
    trained = runner.model.learner.state_dict()
    assert any(not torch.equal(trained[name], value)
               for name, value in weights.items())
    # ANIL: the pre-training reaches the embedding under the head.
    anil = BRNPAFewShotModel(learner=dict(widths=TINY_WIDTHS),
                             meta=dict(algorithm='anil', ways=5),
                             pretrained=path)
    embedding = anil.learner.embedding.state_dict()
    for name, value in weights.items():
        assert torch.equal(embedding[name], value), name

    cfg.model.learner.widths = (8, 16, 32, 32)  # not the pre-trained model
    cfg.experiment_name += '-mismatch'
    with pytest.raises(RuntimeError, match='model.pretrained'):
        Runner.from_cfg(cfg)


def test_episodes_are_fixed_by_seed_and_index(pickle_root):
    def dataset(seed):
        return BRNPAEpisodeDataset('mini-imagenet', pickle_root, 'validation',
                                   ways=3, shots=1, queries=2,
                                   num_episodes=3, seed=seed, image_size=16)

    state = random.getstate()
    first, again, other = dataset(1), dataset(1), dataset(2)
    episode = first[1]
    assert random.getstate() == state
    for part in ('support', 'query'):
        assert torch.equal(episode['inputs'][part], again[1]['inputs'][part])
        assert not torch.equal(episode['inputs'][part],
                               first[2]['inputs'][part])
        assert not torch.equal(episode['inputs'][part],
                               other[1]['inputs'][part])
    assert episode['inputs']['support'].shape == (3, 3, 16, 16)
    assert episode['data_samples']['query_labels'].tolist() == [0, 0, 1, 1,
                                                                2, 2]
    with pytest.raises(IndexError, match='num_episodes'):
        first[3]


def test_errors_name_the_setting(pickle_root):
    with pytest.raises(ValueError, match='batch_size=1'):
        brnpa_episode_collate([{}, {}])
    with pytest.raises(ValueError, match='model.meta.ways'):
        BRNPAFewShotModel(learner=dict(widths=TINY_WIDTHS),
                          meta=dict(algorithm='anil'))
    with pytest.raises(TypeError, match="did you mean 'num_parts'"):
        BRNPAFewShotModel(learner=dict(widths=TINY_WIDTHS, num_part=2))
    with pytest.raises(ValueError, match='num_episodes'):
        BRNPAEpisodeDataset('mini-imagenet', pickle_root, 'test', ways=2,
                            shots=1, queries=1, num_episodes=0)
    with pytest.raises(FileNotFoundError, match='mini-imagenet-cache-test'):
        BRNPAEpisodeDataset('mini-imagenet', os.path.join(pickle_root, 'x'),
                            'test', ways=2, shots=1, queries=1,
                            num_episodes=1)
    model = BRNPAFewShotModel(learner=dict(widths=TINY_WIDTHS))
    with pytest.raises(ValueError, match="got 'losses'"):
        model({}, {}, mode='losses')
    with pytest.raises(ValueError, match='inputs.query'):
        model(dict(support=torch.zeros(1, 3, 8, 8)),
              dict(support_labels=torch.zeros(1), query_labels=None),
              mode='loss')


def test_the_sampler_strides_over_processes_and_resumes():
    sampler = BRNPAEpisodeSampler(range(5))
    sampler.rank, sampler.world_size = 1, 2
    indices = iter(sampler)
    assert [next(indices) for _ in range(4)] == [1, 3, 0, 2]
    sampler.start = 2
    indices = iter(sampler)
    assert [next(indices) for _ in range(2)] == [0, 2]


def test_training_episodes_are_new_at_every_iteration(pickle_root):
    """num_episodes=None (the configs' training default, learn2learn's
    num_tasks=-1): every index is another episode, none repeats."""
    dataset = BRNPAEpisodeDataset('mini-imagenet', pickle_root, 'train',
                                  ways=3, shots=1, queries=1, image_size=8)
    assert dataset.endless
    sampler = BRNPAEpisodeSampler(dataset)
    indices = iter(sampler)
    assert [next(indices) for _ in range(12)] == list(range(12))
    assert len(sampler) == sys.maxsize
    far = dataset[10**6]['inputs']['support']
    assert far.shape == (3, 3, 8, 8)
    assert not torch.equal(far, dataset[0]['inputs']['support'])
    # The same episode for the same index, as with a number of episodes.
    finite = BRNPAEpisodeDataset('mini-imagenet', pickle_root, 'train',
                                 ways=3, shots=1, queries=1, image_size=8,
                                 num_episodes=4)
    assert torch.equal(finite[3]['inputs']['query'],
                       dataset[3]['inputs']['query'])
    with pytest.raises(TypeError, match='set dataset.num_episodes'):
        len(dataset)
    with pytest.raises(IndexError):
        dataset[-1]


def test_a_pool_of_training_episodes_repeats_with_a_warning(pickle_root,
                                                           tmp_path):
    cfg = tiny_config(pickle_root, tmp_path, 4)
    cfg.train_dataloader.dataset.num_episodes = 3
    cfg.train_dataloader.update(num_workers=0, persistent_workers=False)
    runner = Runner.from_cfg(cfg)
    runner.train()
    log = next(tmp_path.glob('*/*.log')).read_text()
    assert 'the 3 training episodes (num_episodes) repeat' in log


def test_two_processes_through_tools_train_fewshot(pickle_root, tmp_path):
    """torchrun, two CPU processes (gloo), mmengine's DDP wrapper."""
    command = [sys.executable, '-m', 'torch.distributed.run', '--standalone',
               '--nproc_per_node=2',
               os.path.join(REPO, 'tools', 'train_fewshot.py'), CONFIG,
               '--launcher', 'pytorch', '--work-dir', str(tmp_path),
               '--cfg-options', *tiny_options(pickle_root, max_iters=2),
               'env_cfg.dist_cfg.backend=gloo',
               'model_wrapper_cfg.device_ids=None']
    result = subprocess.run(command, cwd=REPO, capture_output=True,
                            text=True, timeout=300,
                            env=dict(os.environ, OMP_NUM_THREADS='1'))
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-3000:]
    assert 'Distributed training: True' in log
    assert torch.load(tmp_path / 'iter_2.pth')['meta']['iter'] == 2
    # The three validation and test episodes, shared out over the two
    # processes and gathered again.
    assert 'fewshot/episodes: 3' in log
    assert json.loads((tmp_path / 'metrics.json').read_text())['test'][
        'episodes'] == 3


def test_distillation_from_a_low_resolution_teacher(pretrained,
                                                    pickle_root, tmp_path):
    """A low-resolution teacher with the weights of the tiny pre-training
    (they fit either resolution), then 2 Runner episodes of the
    high-resolution student distilled from it."""
    path = str(pretrained[0] / 'epoch_1.pth')
    # The KD config, with this teacher and a softer temperature.
    cfg = tiny_config(pickle_root, tmp_path / 'student', 2, config=KD)
    assert cfg.model.distill.teacher_model == dict(high_resolution=False)
    assert cfg.model.distill.alpha == 0.5
    cfg.model.distill.update(teacher_checkpoint=path, temperature=4.0)
    runner = Runner.from_cfg(cfg)
    model = runner.model
    teacher = model.distillation.teacher
    assert model.learner.backbone is not teacher.backbone
    for name, value in learner_state(load_checkpoint_file(path)).items():
        assert torch.equal(teacher.state_dict()[name], value), name
    # The teacher is outside the weights the runner trains and saves.
    assert not any(name.startswith('distillation')
                   for name in model.state_dict())

    # The loss of the first training episode: the distillation loss
    # (episode_loss with a Distillation), not the cross-entropy.
    item = runner.train_dataloader.dataset[0]
    episode = Episode(item['inputs']['support'],
                      item['data_samples']['support_labels'],
                      item['inputs']['query'],
                      item['data_samples']['query_labels'])
    reference = BRNPAProtoNet(**{**dict(cfg.model.learner),
                                 'high_resolution': False})
    load_learner_weights(reference, path)
    model.learner.eval()  # batch norm statistics left as they are
    distilled = model(item['inputs'], item['data_samples'], 'loss')['loss']
    expected, _ = episode_loss(model.learner, episode, build_distillation(
        reference, 4.0, 0.5))
    torch.testing.assert_close(distilled, expected)
    saved, model.distillation = model.distillation, None
    plain = model(item['inputs'], item['data_samples'], 'loss')['loss']
    model.distillation = saved
    assert abs(distilled.item() - plain.item()) > 1e-4

    before = {k: v.clone() for k, v in teacher.state_dict().items()}
    student = weights(runner)
    runner.train()
    assert runner.iter == 2
    assert not teacher.training
    for name, value in before.items():
        assert torch.equal(teacher.state_dict()[name], value), name
    assert any(not torch.equal(value, student[name])
               for name, value in weights(runner).items())
    assert not any(name.startswith('distillation') for name in
                   torch.load(tmp_path / 'student' / 'iter_2.pth')
                   ['state_dict'])

    missing = str(tmp_path / 'none.pth')
    with pytest.raises(FileNotFoundError,
                       match='model.distill.teacher_checkpoint'):
        BRNPAFewShotModel(learner=dict(widths=TINY_WIDTHS),
                          distill=dict(teacher_checkpoint=missing))
    empty = tmp_path / 'empty.pth'
    empty.write_bytes(b'')
    with pytest.raises(RuntimeError, match='model.distill.teacher_checkpoint'):
        BRNPAFewShotModel(learner=dict(widths=TINY_WIDTHS),
                          distill=dict(teacher_checkpoint=str(empty)))
    with pytest.raises(ValueError, match='model.distill.teacher_checkpoint'):
        BRNPAFewShotModel(learner=dict(widths=TINY_WIDTHS), distill=dict())
    with pytest.raises(ValueError, match='model.distill.temprature'):
        BRNPAFewShotModel(learner=dict(widths=TINY_WIDTHS),
                          distill=dict(teacher_checkpoint=path,
                                       temprature=2.0))


def test_ranked_maps_of_a_test_episode_after_testing(pickle_root, tmp_path):
    cfg = tiny_config(pickle_root, tmp_path, 2)
    assert [hook['type'] for hook in cfg.custom_hooks] == [
        'BRNPAEpisodeMapsHook', 'BRNPAFewShotMetricsHook']
    cfg.custom_hooks[0].update(max_images=2)
    runner = Runner.from_cfg(cfg)
    maps = tmp_path / 'maps'
    assert not maps.exists()
    metrics = runner.test()
    # metrics.json: the test of the model the runner holds.
    test = json.loads((tmp_path / 'metrics.json').read_text())['test']
    assert test['accuracy_pct'] == metrics['fewshot/accuracy']
    assert test['ci95_pct'] == metrics['fewshot/ci95']
    assert (test['episodes'], test['checkpoint']) == (
        EPISODES['test_dataloader'], None)
    names = sorted(os.listdir(maps))
    assert names == ['query_000.png', 'query_001.png', 'support_000.png',
                     'support_001.png']
    for name in names:
        with open(maps / name, 'rb') as stream:
            assert stream.read(8) == b'\x89PNG\r\n\x1a\n'
    hook, = [hook for hook in runner.hooks
             if type(hook).__name__ == 'BRNPAEpisodeMapsHook']
    assert sorted(os.path.basename(p) for p in hook.paths) == names
