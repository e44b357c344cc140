import glob
import inspect
import os.path as osp

import pytest
import torchreid

from brnpa_plugins.reid.config import (build_config, engine_run_kwargs,
                                       imagedata_kwargs, lr_scheduler_kwargs,
                                       optimizer_kwargs)

CONFIG_DIR = osp.join(osp.dirname(__file__), '..', '..', 'configs', 'reid')


@pytest.mark.parametrize(
    'path', sorted(glob.glob(osp.join(CONFIG_DIR, '*.yaml'))),
    ids=osp.basename)
def test_every_shipped_config_uses_known_keys_only(path):
    cfg = build_config(path)  # yacs refuses keys the defaults lack
    assert (cfg.data.height, cfg.data.width) == (256, 128)
    assert cfg.data.sources == ['market1501']
    assert cfg.model.name.startswith('brnpa_resnet50')
    for kwargs in (imagedata_kwargs, optimizer_kwargs, lr_scheduler_kwargs,
                   engine_run_kwargs):
        assert kwargs(cfg)


def test_command_line_overrides_win_and_are_type_checked():
    cfg = build_config('', ['train.lr', '0.1', 'test.ranks', '[1, 2]'],
                       root='/data', sources=['market1501'], targets=None)
    assert cfg.train.lr == 0.1 and cfg.test.ranks == [1, 2]
    assert cfg.data.root == '/data' and cfg.data.targets == ['market1501']
    with pytest.raises(ValueError):
        build_config('', ['train.lr', "'fast'"])
    with pytest.raises(KeyError, match='train.learning_rate.*known keys'):
        build_config('', ['train.learning_rate', '0.1'])


@pytest.mark.parametrize('text, unknown, known', [
    ('model:\n  num_part: 3\n',
     "unknown key 'model.num_part' (did you mean 'model.num_parts'?)",
     'known keys of model: name, pretrained, load_weights, resume, '
     'num_parts, embedding_dim, dropout'),
    ('modle:\n  name: brnpa_resnet50\n',
     "unknown key 'modle' (did you mean 'model'?)",
     'known keys: use_gpu, model, data'),
    ('loss:\n  triplet:\n    margn: 0.5\n',
     "unknown key 'loss.triplet.margn' (did you mean "
     "'loss.triplet.margin'?)",
     'known keys of loss.triplet: margin, weight_t, weight_x'),
])
def test_an_unknown_key_in_a_file_names_the_file_and_the_closest_key(
        tmp_path, text, unknown, known):
    path = tmp_path / 'typo.yaml'
    path.write_text(text)
    with pytest.raises(KeyError) as error:
        build_config(str(path))
    assert str(error.value).startswith(f'config file {path}: {unknown}; ')
    assert known in str(error.value)


def test_an_unknown_override_names_the_closest_key():
    with pytest.raises(KeyError) as error:
        build_config('', ['model.num_part', '3'])
    assert str(error.value).startswith(
        "command-line overrides: unknown key 'model.num_part' (did you mean "
        "'model.num_parts'?); known keys of model: name,")
    with pytest.raises(KeyError, match="unknown key 'brnpa'; known keys: "
                       'use_gpu, model'):
        build_config('', ['brnpa.num_parts', '3'])


def test_video_data_is_refused():
    with pytest.raises(ValueError, match="data.type must be 'image'"):
        imagedata_kwargs(build_config('', ['data.type', 'video']))


def test_every_argument_exists_in_torchreid():
    cfg = build_config()
    for kwargs, target in (
        (imagedata_kwargs, torchreid.data.ImageDataManager.__init__),
        (optimizer_kwargs, torchreid.optim.build_optimizer),
        (lr_scheduler_kwargs, torchreid.optim.build_lr_scheduler),
        (engine_run_kwargs, torchreid.engine.Engine.run),
    ):
        assert set(kwargs(cfg)) <= set(inspect.signature(target).parameters)
