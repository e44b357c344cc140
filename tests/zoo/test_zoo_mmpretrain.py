"""Zoo names in mmpretrain: get_model, list_models and mmengine's loaders."""
import hashlib
import io

import pytest
import torch
import yaml

mmpretrain = pytest.importorskip('mmpretrain')

from mmengine.runner import CheckpointLoader  # noqa: E402
from mmpretrain.apis.model import ModelHub  # noqa: E402

from brnpa_plugins.openmmlab.model_index import register_model_index  # noqa
from brnpa_plugins.openmmlab.remote_checkpoints import \
    register_checkpoint_loaders  # noqa: E402
from brnpa_plugins.zoo import (ChecksumError, NoCheckpointError,  # noqa
                               ZooEntry, read_model_index)

TINY_CONFIG = """
custom_imports = dict(imports=['brnpa_plugins.openmmlab'],
                      allow_failed_imports=False)
model = dict(
    type='ImageClassifier',
    backbone=dict(type='ResNet', depth=18, stem_channels=8, base_channels=8,
                  strides=(1, 2, 1, 1), out_indices=(3, )),
    neck=dict(type='BRNPANeck', in_channels=64, num_parts=2),
    head=dict(type='BRNPAHead', num_classes=3, in_channels=64, num_parts=2,
              loss=dict(type='CrossEntropyLoss')))
"""

def _model(name, task='Image Classification', weights=None, sha256=None):
    """A metafile model; only published models have Weights and SHA256."""
    model = {'Name': name, 'Config': 'configs/tiny.py',
             'Results': [{'Task': task, 'Dataset': 'Tiny', 'Metrics': {}}]}
    if weights:
        model.update(Weights=weights, Metadata={'SHA256': sha256})
    return model


@pytest.fixture
def model_hub():
    """Forget the names a test registers in mmpretrain's ModelHub."""
    mmpretrain.list_models()  # mmpretrain's and the zoo's, read once
    before = set(ModelHub._models_dict)
    yield ModelHub
    for name in set(ModelHub._models_dict) - before:
        del ModelHub._models_dict[name]


def _saved(model):
    buffer = io.BytesIO()
    torch.save({'state_dict': model.state_dict(),
                'meta': {'dataset_meta': {'classes': ['a', 'b', 'c']}}},
               buffer)
    return buffer.getvalue()


def test_get_model_by_zoo_name_downloads_verified_weights(
        tmp_path, server, cache, sha256, model_hub, register_zoo_entries):
    (tmp_path / 'configs').mkdir()
    config = tmp_path / 'configs' / 'tiny.py'
    config.write_text(TINY_CONFIG)
    trained = mmpretrain.get_model(str(config))
    data = _saved(trained)
    # No hash in the file names: only the metafile's full SHA-256 can
    # catch the tampered file.
    server.files['/weights/tiny.pth'] = data
    server.files['/weights/tampered.pth'] = _saved(
        mmpretrain.get_model(str(config)))
    index = tmp_path / 'model-index.yml'
    (tmp_path / 'metafile.yml').write_text(yaml.safe_dump({'Models': [
        _model('brnpa-test-tiny_3class', weights=server.url(
            '/weights/tiny.pth'), sha256=sha256(data)),
        _model('brnpa-test-tampered_3class', weights=server.url(
            '/weights/tampered.pth'), sha256=sha256(data)),
        _model('brnpa-test-untrained_3class'),
        _model('brnpa-test-reid', task='Person Re-Identification'),
    ]}))
    index.write_text('Import:\n  - metafile.yml\n')

    register_checkpoint_loaders()
    assert register_model_index(index) == [
        'brnpa-test-tiny_3class', 'brnpa-test-tampered_3class',
        'brnpa-test-untrained_3class']
    assert register_model_index(index) == []
    register_zoo_entries(read_model_index(index))
    assert mmpretrain.list_models('brnpa-test') == [
        'brnpa-test-tampered_3class', 'brnpa-test-tiny_3class',
        'brnpa-test-untrained_3class']

    model = mmpretrain.get_model('brnpa-test-tiny_3class', pretrained=True)
    for key, value in trained.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key
    assert model._dataset_meta == {'classes': ['a', 'b', 'c']}
    tiny = server.url('/weights/tiny.pth')
    key = hashlib.sha256(tiny.encode()).hexdigest()[:16]
    assert (cache / key / 'tiny.pth').read_bytes() == data

    with pytest.raises(ChecksumError, match='not the published checkpoint'):
        mmpretrain.get_model('brnpa-test-tampered_3class', pretrained=True)
    assert not list(cache.rglob('tampered.pth'))
    with pytest.raises(NoCheckpointError,
                       match='brnpa-test-untrained_3class has no checkpoint '
                       'published yet'):
        mmpretrain.get_model('brnpa-test-untrained_3class', pretrained=True)


def test_project_classification_entries_are_registered(model_hub):
    register_model_index()
    names = mmpretrain.list_models('brnpa')
    expected = [e.name for e in read_model_index()
                if e.task == 'Image Classification']
    assert len(expected) == 13 and sorted(expected) == names
    assert register_model_index() == []
    assert ModelHub._models_dict[expected[0]].weights == \
        f'brnpa://{expected[0]}'


def test_a_plugin_zoo_entry_reaches_mmpretrain(tmp_path, model_hub,
                                                register_zoo_entries):
    config = tmp_path / 'tiny.py'
    config.write_text(TINY_CONFIG)
    register_zoo_entries([
        ZooEntry('plugin-tiny_3class', 'Image Classification', 'Tiny',
                 config=str(config)),
        ZooEntry('plugin-reid', 'Person Re-Identification', 'Tiny',
                 config=str(config))])
    assert register_model_index() == ['plugin-tiny_3class']
    assert mmpretrain.list_models('plugin') == ['plugin-tiny_3class']
    model = mmpretrain.get_model('plugin-tiny_3class')
    assert type(model.neck).__name__ == 'BRNPANeck'
    with pytest.raises(NoCheckpointError, match='no checkpoint published'):
        mmpretrain.get_model('plugin-tiny_3class', pretrained=True)
    with pytest.raises(ValueError, match="'resnet18_8xb32_in1k'.*already "
                       'in mmpretrain'):
        register_zoo_entries([ZooEntry('resnet18_8xb32_in1k',
                                       'Image Classification', 'Tiny',
                                       config=str(config))])
        register_model_index()


def test_mmengine_urls_get_the_file_name_hash_check(server, cache,
                                                    checkpoint_bytes,
                                                    sha256):
    register_checkpoint_loaders()
    data = checkpoint_bytes(7)
    good = f'/open-mmlab/model-{sha256(data)[:8]}.pth'
    server.files[good] = data
    server.files['/open-mmlab/model-0badc0de.pth'] = data
    state = CheckpointLoader.load_checkpoint(server.url(good))
    assert state['meta']['seed'] == 7
    with pytest.raises(ChecksumError, match='starting with 0badc0de'):
        CheckpointLoader.load_checkpoint(
            server.url('/open-mmlab/model-0badc0de.pth'))
    assert CheckpointLoader._get_checkpoint_loader('/local.pth').__name__ \
        != 'load_from_verified_http'


def test_file_in_torch_hub_cache_is_verified_and_used(
        cache, checkpoint_bytes, sha256, closed_port, tmp_path, monkeypatch):
    register_checkpoint_loaders()
    monkeypatch.setenv('TORCH_HOME', str(tmp_path))
    data = checkpoint_bytes(8)
    name = f'resnet-{sha256(data)[:8]}.pth'
    (tmp_path / 'hub' / 'checkpoints').mkdir(parents=True)
    (tmp_path / 'hub' / 'checkpoints' / name).write_bytes(data)
    # Nothing listens on the port: the file can only come from the hub cache.
    url = f'http://127.0.0.1:{closed_port}/{name}'
    assert CheckpointLoader.load_checkpoint(url)['meta']['seed'] == 8
    assert not cache.exists()


def test_zoo_scheme_loads_by_name(server, checkpoint_bytes, sha256,
                                  register_zoo_entries):
    register_checkpoint_loaders()
    data = checkpoint_bytes(9)
    server.files['/zoo/nine.pth'] = data
    register_zoo_entries([ZooEntry('test-nine', 'Image Classification', 'D',
                                   weights=server.url('/zoo/nine.pth'),
                                   sha256=sha256(data))])
    state = CheckpointLoader.load_checkpoint('brnpa://test-nine')
    assert state['meta']['seed'] == 9
