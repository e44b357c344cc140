"""Contradictory configs are refused before anything is built; the refused
combinations do fail in torchreid's own engines."""
import pytest
import torchreid

from brnpa_plugins.reid import ImageTripletEngine
from brnpa_plugins.reid.build import build_datamanager, build_model
from brnpa_plugins.reid.check import ConfigError, check_cfg, config_problems
from brnpa_plugins.reid.config import build_config

TRIPLET = ['loss.name', 'triplet', 'sampler.train_sampler',
           'RandomIdentitySampler', 'sampler.num_instances', '2']
NO_PATH = ['loss.triplet.weight_x', '0.0', 'train.fixbase_epoch', '1',
           'train.open_layers', "['classifier']"]


def test_torchreid_fails_on_triplet_fixbase_without_a_trainable_path(
        market_root, tiny, tmp_path):
    """What the check prevents: torchreid's triplet engine, weight_x=0 and
    only the classifier open during fixbase."""
    cfg = build_config('', tiny + TRIPLET + NO_PATH, root=market_root)
    datamanager = build_datamanager(cfg)
    model = build_model(cfg, datamanager.num_train_pids)
    optimizer = torchreid.optim.build_optimizer(model, optim='adam')
    engine = ImageTripletEngine(datamanager, model, optimizer, weight_x=0.0,
                                use_gpu=False)
    with pytest.raises(RuntimeError, match='does not require grad'):
        engine.run(save_dir=str(tmp_path), max_epoch=1, fixbase_epoch=1,
                   open_layers=['classifier'], print_freq=1)


def test_the_tool_refuses_it_naming_keys_values_and_fix(
        market_root, reid_tool, reid_config, tiny, tmp_path):
    with pytest.raises(ConfigError) as error:
        reid_tool('train_reid', [
            '--config-file',
            reid_config('brnpa_r50_triplet_256x128_market1501.yaml'),
            '--root', market_root, *tiny, *TRIPLET, *NO_PATH,
            'data.save_dir', str(tmp_path / 'run')])
    message = str(error.value)
    for part in ("train.fixbase_epoch=1 with train.open_layers=['classifier"
                 "']", 'loss.triplet.weight_x=0', 'does not require grad',
                 "add 'bottleneck' to train.open_layers",
                 'train.fixbase_epoch 0'):
        assert part in message
    assert not (tmp_path / 'run').exists()  # refused before anything


def test_the_same_run_with_the_embedding_open_trains(
        market_root, reid_tool, reid_config, tiny, tmp_path):
    log = reid_tool('train_reid', [
        '--config-file',
        reid_config('brnpa_r50_triplet_256x128_market1501.yaml'),
        '--root', market_root, *tiny, *TRIPLET, *NO_PATH,
        'train.open_layers', "['bottleneck', 'classifier']",
        'data.save_dir', str(tmp_path)])
    assert "* Only train ['bottleneck', 'classifier'] (epoch: 1/1)" in log
    assert 'loss_t' in log
    assert (tmp_path / 'model' / 'model.pth.tar-1').is_file()


@pytest.mark.parametrize('overrides, expected', [
    (['test.evaluate', 'True'],
     'test.evaluate=True without model.load_weights'),
    (['loss.name', 'triplet'],
     "sampler.train_sampler='RandomSampler': random batches"),
    (TRIPLET + ['train.batch_size', '7'],
     'train.batch_size=7 and sampler.num_instances=2'),
    (TRIPLET + ['loss.triplet.weight_t', '0.0', 'loss.triplet.weight_x',
                '0.0'], 'not both 0'),
    (['distill.teacher_weights', 'x.pth', 'distill.teacher_name', 'b',
      'loss.name', 'triplet', 'sampler.train_sampler',
      'RandomIdentitySampler'], 'distillation engine trains on logits'),
    (['distill.teacher_weights', 'x.pth'], 'distill.teacher_name is empty'),
    (['distill.teacher_weights', 'x.pth', 'distill.teacher_name', 'b',
      'model.part_logits', 'True'],
     'distill.teacher_weights is set with model.part_logits=True'),
    (['model.name', 'resnet50', 'model.part_logits', 'True'],
     "model.part_logits=True needs a BR-NPA model, but model.name='resnet50'"),
    (['model.brnpa.seed', 'maximum'], "model.brnpa.seed='maximum': choose"),
    (['cuhk03.use_metric_cuhk03', 'True'],
     "data.targets=['market1501'] has no cuhk03"),
    (['train.fixbase_epoch', '2', 'train.open_layers', "['bottlenek']"],
     "['bottlenek'] are not modules of the BR-NPA model"),
    (['train.fixbase_epoch', '2', 'train.open_layers', '[]'],
     'no layer would train'),
    (['data_parallel', 'yes'], "data_parallel='yes': choose one of"),
    # With part logits the triplet feature is the part vectors themselves:
    # opening the bottleneck does not help.
    (TRIPLET + NO_PATH + ['model.part_logits', 'True', 'train.open_layers',
                          "['bottleneck', 'classifier']"],
     'only the triplet loss on the part vectors trains'),
    (['loss.name', 'arcface'], 'loss must be one of'),
])
def test_contradictions_are_named(tiny, overrides, expected):
    cfg = build_config('', tiny + overrides)
    problems = config_problems(cfg)
    assert any(expected in problem for problem in problems), problems
    with pytest.raises(ConfigError, match='contradiction'):
        check_cfg(cfg)


def test_shipped_configs_and_the_defaults_pass(reid_config, tiny):
    check_cfg(build_config('', tiny))
    for name in ('brnpa_r50_softmax_256x128_market1501.yaml',
                 'brnpa_r50_triplet_256x128_market1501.yaml',
                 'brnpa_r50hr_distill_256x128_market1501.yaml'):
        check_cfg(build_config(reid_config(name)))
