import hashlib
import runpy
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from brnpa_plugins.zoo import read_metafile

REPO = Path(__file__).resolve().parents[2]
TOOL = runpy.run_path(str(REPO / 'tools' / 'publish_model.py'))
NAME = 'brnpa-highres-kd_resnet50_8xb12_cub'


def _leaves(value):
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _leaves(item)
    else:
        yield value


@pytest.fixture
def runner_checkpoint(tmp_path):
    """What mmengine's runner saves with the adapter: weights, meta and
    training state, as plain values."""
    mmengine = pytest.importorskip('mmengine')
    from mmengine.logging import HistoryBuffer

    from brnpa_plugins.openmmlab.checkpoint import to_plain_checkpoint
    buffer = HistoryBuffer()
    buffer.update(0.5)
    weights = {'backbone.conv.weight': torch.randn(4, 3, 3, 3)}
    checkpoint = {
        'meta': {'epoch': 3, 'iter': np.int64(30), 'eta': np.float64(1.5),
                 'cfg': 'model = dict()', 'seed': 0,
                 'dataset_meta': {'classes': ('a', 'b')},
                 'mmengine_version': mmengine.__version__,
                 'history': torch.ones(2)},  # not a plain value: dropped
        'state_dict': weights,
        'message_hub': {'log_scalars': {'loss': buffer}},
        'optimizer': {'state': {}, 'param_groups': [{'lr': 0.1}]},
        'param_schedulers': [{'last_epoch': 3}],
    }
    path = tmp_path / 'epoch_3.pth'
    torch.save(to_plain_checkpoint(checkpoint), path)
    return path, weights


def test_publish_strips_state_names_by_hash_and_prints_the_entry(
        runner_checkpoint, tmp_path, capsys):
    path, weights = runner_checkpoint
    out_dir = tmp_path / 'published'
    assert TOOL['main']([str(path), NAME, '--out-dir', str(out_dir),
                         '--url-base', 'https://host/brnpa/v1']) == 0
    [published] = out_dir.iterdir()
    sha256 = hashlib.sha256(published.read_bytes()).hexdigest()
    assert published.name == f'{NAME}-{sha256[:8]}.pth'

    state = torch.load(published, weights_only=True)
    assert set(state) == {'state_dict', 'meta'}
    assert torch.equal(state['state_dict']['backbone.conv.weight'],
                       weights['backbone.conv.weight'])
    assert state['meta']['iter'] == 30 and type(state['meta']['iter']) is int
    assert state['meta']['dataset_meta'] == {'classes': ('a', 'b')}
    assert 'history' not in state['meta']
    assert all(isinstance(leaf, (str, int, float, bool, type(None)))
               for leaf in _leaves(state['meta']))

    output = capsys.readouterr()
    for dropped in ('message_hub', 'optimizer', 'param_schedulers',
                    'meta.history'):
        assert dropped in output.err
    [entry] = yaml.safe_load(output.out)
    assert entry['Name'] == NAME
    assert entry['Weights'] == f'https://host/brnpa/v1/{published.name}'
    assert entry['Metadata']['SHA256'] == sha256
    assert entry['Config'] == f'configs/brnpa/{NAME}.py'
    # The printed entry is valid: it replaces the one in the metafile.
    metafile = tmp_path / 'metafile.yml'
    metafile.write_text(yaml.safe_dump({'Models': [entry]}))
    [zoo_entry] = read_metafile(metafile, REPO)
    assert zoo_entry.status == 'published' and zoo_entry.sha256 == sha256


def test_default_url_is_the_local_file(runner_checkpoint, tmp_path, capsys):
    path, _ = runner_checkpoint
    assert TOOL['main']([str(path), 'new-model', '--out-dir',
                         str(tmp_path)]) == 0
    [entry] = yaml.safe_load(capsys.readouterr().out)
    assert entry['Name'] == 'new-model'
    assert entry['Weights'].startswith(tmp_path.as_uri() + '/new-model-')
    assert Path(entry['Weights'][len('file://'):]).is_file()


def test_checkpoint_without_weights_is_refused(tmp_path):
    path = tmp_path / 'empty.pth'
    torch.save({'state_dict': {}, 'meta': {}}, path)
    with pytest.raises(SystemExit, match='holds no weights'):
        TOOL['main']([str(path), 'x', '--out-dir', str(tmp_path / 'out')])
    assert not (tmp_path / 'out').exists() or \
        list((tmp_path / 'out').iterdir()) == []


def test_a_name_that_is_not_a_single_file_name_is_refused(tmp_path, capsys):
    path = tmp_path / 'weights.pth'
    torch.save({'state_dict': {'w': torch.ones(1)}}, path)
    out_dir = tmp_path / 'out' / 'a'
    with pytest.raises(SystemExit) as exit_:
        TOOL['main']([str(path), '../../escaped', '--out-dir', str(out_dir)])
    assert exit_.value.code == 2
    assert "Zoo entry name '../../escaped' is not a single path-safe token" \
        in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.rglob('*')) == ['weights.pth']


def test_meta_values_are_made_plain_as_the_core_does():
    from brnpa_plugins.core import plain_types
    meta = {'mean': np.array([0.5, 0.25]), 'iter': np.int64(3),
            'nested': [{'x': np.float32(1.5)}], 'history': torch.ones(2)}
    dropped = []
    kept = TOOL['plain'](meta, 'meta', dropped)
    assert kept == {key: value for key, value in plain_types(meta).items()
                    if key != 'history'}
    assert kept['mean'] == [0.5, 0.25] and type(kept['iter']) is int
    assert dropped == ['meta.history']
