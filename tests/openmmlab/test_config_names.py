"""Config names, batch sizes and metafiles follow mmpretrain's convention.

``{algo}_{backbone}_{gpus}xb{batch}_{dataset}.py``: ``8xb12`` is 8 GPUs x
12 images per GPU, a total batch of 96, which is the batch the config's lr
belongs to (``auto_scale_lr.base_batch_size``) and the metafile's Batch Size.
"""
import os
import re

import pytest
import yaml
from mmengine.config import Config

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
CONFIG_DIR = os.path.join(REPO, 'configs', 'brnpa')
NAME = re.compile(r'^(?:(?P<algo>[a-z0-9-]+)_)?(?P<backbone>[a-z0-9-]+)_'
                  r'(?P<gpus>\d+)xb(?P<batch>\d+)_'
                  r'(?P<dataset>[a-z0-9-]+)\.py$')
CONFIGS = sorted(f for f in os.listdir(CONFIG_DIR) if f.endswith('.py'))


def _parse(file_name):
    match = NAME.match(file_name)
    assert match, (f'configs/brnpa/{file_name} does not follow '
                   '{algo}_{backbone}_{gpus}xb{batch}_{dataset}.py')
    return int(match['gpus']), int(match['batch'])


def _metafile_models():
    with open(os.path.join(CONFIG_DIR, 'metafile.yml')) as file:
        return yaml.safe_load(file)['Models']


def test_there_are_configs_to_check():
    assert len(CONFIGS) == 29


@pytest.mark.parametrize('file_name', CONFIGS)
def test_batch_sizes_are_the_ones_the_name_states(file_name):
    gpus, batch = _parse(file_name)
    cfg = Config.fromfile(os.path.join(CONFIG_DIR, file_name))
    assert cfg.train_dataloader.batch_size == batch, file_name
    assert cfg.auto_scale_lr.base_batch_size == gpus * batch, file_name


def test_metafile_batch_size_is_the_total_batch():
    checked = 0
    for model in _metafile_models():
        config = model.get('Config', '')
        if not config.startswith('configs/brnpa/'):
            continue
        file_name = os.path.basename(config)
        assert model['Name'] == file_name[:-3]
        gpus, batch = _parse(file_name)
        assert model['Metadata']['Batch Size'] == gpus * batch, model['Name']
        checked += 1
    assert checked == 13


def test_the_pattern_rejects_a_name_without_gpus_and_batch():
    with pytest.raises(AssertionError, match='does not follow'):
        _parse('brnpa-lowres_resnet50_b12_cub.py')
    assert _parse('resnet50-gap_8xb12_cub.py') == (8, 12)
