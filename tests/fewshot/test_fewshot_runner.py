"""tools/train_fewshot.py end to end on the tiny data."""
import json
import os

import pytest
import torch
from PIL import Image

from brnpa_plugins.core import CheckpointError
from brnpa_plugins.fewshot import load_checkpoint, runner

from .conftest import CONFIG_DIR, TINY_OPTIONS

ONE_SHOT = os.path.join(CONFIG_DIR,
                        'brnpa-protonet_resnet12_mini-imagenet_5way-1shot.py')
FIVE_SHOT = os.path.join(CONFIG_DIR,
                         'brnpa-protonet_resnet12_mini-imagenet_5way-5shot.py')


def arguments(config, work_dir, root, *options):
    return [config, '--work-dir', str(work_dir), '--cfg-options',
            f'data.root={root}', *TINY_OPTIONS, *options]


def test_the_config_runs_end_to_end(train_fewshot, pickle_root, tmp_path):
    metrics = train_fewshot(arguments(FIVE_SHOT, tmp_path, pickle_root))
    test = metrics['test']
    assert test['episodes'] == 5 and (test['ways'], test['shots']) == (5, 2)
    assert 0 <= test['accuracy_pct'] <= 100 and test['ci95_pct'] >= 0
    # In percent, as papers print them: '62.3 ± 0.8'.
    assert test['result'] == \
        f"{test['accuracy_pct']:.1f} \u00b1 {test['ci95_pct']:.1f}"
    assert 'accuracy' not in test and 'ci95' not in test
    assert [r['episode'] for r in metrics['validation']] == [2, 4]
    assert json.loads((tmp_path / 'metrics.json').read_text()) == metrics
    assert (tmp_path / 'brnpa-protonet_resnet12_mini-imagenet_5way-5shot.py'
            ).is_file()
    log = (tmp_path / 'train.log').read_text(encoding='utf-8')
    assert f"5-way 2-shot accuracy {test['result']} %" in log
    assert '\u00b1' in (tmp_path / 'metrics.json').read_text(encoding='utf-8')
    for record in metrics['validation']:
        assert f"validation accuracy {record['result']} %" in log
    state = load_checkpoint(tmp_path / 'latest.pth')
    assert state['status']['phase'] == 'test'
    assert load_checkpoint(tmp_path / 'best.pth')['status']['best'] \
        == metrics['best']
    maps = sorted(os.listdir(tmp_path / 'maps'))
    assert maps == ['query_000.png', 'query_001.png', 'support_000.png',
                    'support_001.png']
    assert Image.open(tmp_path / 'maps' / 'query_000.png').width > 160


def test_the_image_folder_config_runs(train_fewshot, folder_root, tmp_path):
    config = os.path.join(CONFIG_DIR,
                          'brnpa-protonet_resnet12_image-folder_5way-5shot.py')
    metrics = train_fewshot(arguments(config, tmp_path, folder_root,
                                      'pretrain=None', 'visualize=None'))
    assert metrics['test']['episodes'] == 5
    assert not (tmp_path / 'maps').exists()


class Interrupt(Exception):
    pass


def test_resume_continues_where_training_stopped(train_fewshot, pickle_root,
                                                 tmp_path, monkeypatch):
    options = ('train.episodes=4', 'train.val_interval=2', 'visualize=None')
    straight = train_fewshot(arguments(ONE_SHOT, tmp_path / 'straight',
                                       pickle_root, *options))

    save = runner.FewShotRunner._save

    def save_then_stop(self, path, **extra):
        save(self, path, **extra)
        if path == 'latest.pth' and self.status['phase'] == 'train' \
                and self.status['step'] == 2:
            raise Interrupt

    interrupted = tmp_path / 'interrupted'
    monkeypatch.setattr(runner.FewShotRunner, '_save', save_then_stop)
    with pytest.raises(Interrupt):
        train_fewshot(arguments(ONE_SHOT, interrupted, pickle_root, *options))
    monkeypatch.setattr(runner.FewShotRunner, '_save', save)
    assert not (interrupted / 'metrics.json').exists()
    resumed = train_fewshot(arguments(ONE_SHOT, interrupted, pickle_root,
                                      *options) + ['--resume'])
    assert [r['episode'] for r in resumed['validation']] == [2, 4]
    assert 'latest.pth (phase train, step 2)' in (
        interrupted / 'train.log').read_text()
    # Optimiser, scheduler and RNG states came back: the same run.
    for ours, theirs in zip(resumed['validation'], straight['validation']):
        assert ours['loss'] == pytest.approx(theirs['loss'], rel=1e-4)
        assert ours['accuracy_pct'] == pytest.approx(theirs['accuracy_pct'])


def test_resume_from_a_given_checkpoint_of_a_finished_run(
        train_fewshot, pickle_root, tmp_path):
    first = train_fewshot(arguments(FIVE_SHOT, tmp_path / 'a', pickle_root))
    again = train_fewshot(arguments(FIVE_SHOT, tmp_path / 'b', pickle_root,
                                    ) + ['--resume',
                                         str(tmp_path / 'a' / 'latest.pth')])
    # Only the test phase was left: the same best model gives the same test.
    assert again['test'] == first['test']
    assert again['test']['model'] == str(tmp_path / 'a' / 'best.pth')
    assert again['validation'] == first['validation']


def test_distillation_from_a_low_resolution_teacher(train_fewshot,
                                                    pickle_root, tmp_path):
    teacher_config = os.path.join(
        CONFIG_DIR,
        'brnpa-protonet_resnet12-lowres_mini-imagenet_5way-1shot.py')
    train_fewshot(arguments(teacher_config, tmp_path / 'teacher', pickle_root,
                            'pretrain=None', 'visualize=None'))
    teacher = tmp_path / 'teacher' / 'best.pth'
    student = os.path.join(
        CONFIG_DIR, 'brnpa-protonet-kd_resnet12_mini-imagenet_5way-1shot.py')
    metrics = train_fewshot(arguments(student, tmp_path / 'student',
                                      pickle_root,
                                      f'distill.teacher_checkpoint={teacher}',
                                      'pretrain=None', 'visualize=None'))
    assert f'distilling from {teacher}' in (tmp_path / 'student' /
                                            'train.log').read_text()
    assert len(metrics['validation']) == 2


def test_a_missing_root_stops_before_training(train_fewshot, tmp_path):
    with pytest.raises(FileNotFoundError,
                       match='mini-imagenet-cache-train.pkl') as error:
        train_fewshot(arguments(ONE_SHOT, tmp_path / 'work',
                                tmp_path / 'no-data'))
    assert 'Downloads are disabled' in str(error.value)
    assert not (tmp_path / 'no-data').exists()
    assert not (tmp_path / 'work' / 'latest.pth').exists()


def test_every_config_in_the_folder_loads():
    from mmengine.config import Config
    from brnpa_plugins.fewshot import BRNPAProtoNet, check_config
    names = [n for n in os.listdir(CONFIG_DIR) if n.endswith('.py')]
    assert len(names) >= 8
    for name in names:
        cfg = Config.fromfile(os.path.join(CONFIG_DIR, name))
        check_config(cfg)  # only keys the runner reads
        model = dict(cfg.model)
        if cfg.model.widths is not None:  # a built-in backbone
            model['widths'] = (4, 6, 8, 10)
        channels = cfg.data.get('channels') or 3
        model = BRNPAProtoNet(**{**model, 'in_channels': channels})
        assert cfg.test.episodes >= 600, name
        assert model(torch.rand(2, channels, 32, 32), torch.tensor([0, 1]),
                     torch.rand(1, channels, 32, 32)).shape == (1, 2)


@pytest.mark.parametrize('config, options', [
    ('brnpa-protonet_l2l-resnet12_mini-imagenet_5way-1shot.py',
     ['model.widths=None']),
    ('brnpa-protonet_resnet12-dropblock_mini-imagenet_5way-1shot.py',
     ['model.backbone.dropblock_size=3', 'model.backbone.dropblock_steps=4']),
])
def test_configs_with_other_backbones_run(train_fewshot, pickle_root,
                                          tmp_path, config, options):
    metrics = train_fewshot(arguments(
        os.path.join(CONFIG_DIR, config), tmp_path, pickle_root, *options,
        'pretrain=None', 'visualize=None'))
    assert [r['episode'] for r in metrics['validation']] == [2, 4]
    weights = load_checkpoint(tmp_path / 'best.pth')['model']
    if 'l2l' in config:
        assert 'backbone.network.layer4.0.conv1.weight' in weights
    else:
        # The DropBlock schedule's step count is saved with the model.
        assert int(weights['backbone.layer4.1.num_steps']) > 0


@pytest.mark.parametrize('option, unknown, known', [
    ('trian.episodes=3', "unknown key 'trian' (did you mean 'train'?)",
     'known keys: seed, device, progress, work_dir, model, data'),
    ('train.episods=3',
     "unknown key 'train.episods' (did you mean 'train.episodes'?)",
     'known keys of train: episodes, val_interval, optimizer, scheduler'),
    ('test.sed=3', "unknown key 'test.sed' (did you mean 'test.seed'?)",
     'known keys of test: episodes, seed'),
    ('model.num_part=2',
     "unknown key 'model.num_part' (did you mean 'model.num_parts'?)",
     'known keys of model: backbone, widths, high_resolution, in_channels, '
     'feature_layer, num_parts'),
])
def test_an_unknown_key_is_named_before_anything_runs(
        train_fewshot, pickle_root, tmp_path, option, unknown, known):
    with pytest.raises(ValueError) as error:
        train_fewshot(arguments(ONE_SHOT, tmp_path / 'work', pickle_root,
                                option))
    assert str(error.value).startswith(f'config {ONE_SHOT}: {unknown}; ')
    assert known in str(error.value)
    assert not (tmp_path / 'work').exists()


def test_an_unknown_optimizer_argument_is_named(train_fewshot, pickle_root,
                                                tmp_path):
    with pytest.raises(TypeError, match=r"pretrain.optimizer SGD: unknown "
                       r"argument 'lrr' \(did you mean 'lr'\?\); known "
                       'arguments: lr, momentum'):
        train_fewshot(arguments(ONE_SHOT, tmp_path, pickle_root,
                                'pretrain.optimizer.lrr=0.1'))


@pytest.mark.parametrize('content, error', [
    (None, FileNotFoundError), (b'', CheckpointError)],
    ids=['missing', 'empty'])
def test_a_bad_teacher_checkpoint_names_the_key(train_fewshot, pickle_root,
                                                tmp_path, content, error):
    teacher = tmp_path / 'teacher.pth'
    if content is not None:
        teacher.write_bytes(content)
    student = os.path.join(
        CONFIG_DIR, 'brnpa-protonet-kd_resnet12_mini-imagenet_5way-1shot.py')
    with pytest.raises(error) as raised:
        train_fewshot(arguments(student, tmp_path / 'student', pickle_root,
                                f'distill.teacher_checkpoint={teacher}',
                                'pretrain=None', 'visualize=None'))
    assert str(raised.value).startswith(
        'cannot load the teacher checkpoint '
        f'distill.teacher_checkpoint={str(teacher)!r}: ')
    assert ('does not exist' if content is None else '0 bytes') in str(
        raised.value)


def test_an_unknown_optimizer_is_named(train_fewshot, pickle_root, tmp_path):
    with pytest.raises(ValueError, match="optimizer.type must name a class "
                       "of torch.optim .* got 'Adamm'"):
        train_fewshot(arguments(ONE_SHOT, tmp_path, pickle_root,
                                'pretrain.optimizer.type=Adamm'))
