import os
from pathlib import Path

import pytest
import yaml

from brnpa_plugins.zoo import (MetafileError, ZooEntry, read_metafile,
                               read_model_index)
from brnpa_plugins.zoo.metafile import NOT_TRAINED, PUBLISHED, find_model_index

REPO = Path(__file__).resolve().parents[2]
SHA = 'ab' * 32


def test_project_model_index_is_found_and_read():
    assert find_model_index() == REPO / 'model-index.yml'
    entries = read_model_index()
    names = [e.name for e in entries]
    assert len(names) == len(set(names)) == 20
    datasets = {e.dataset for e in entries}
    assert datasets == {'CUB-200-2011', 'Stanford Cars', 'FGVC-Aircraft',
                        'Market-1501', 'mini-ImageNet',
                        'generated ground-truth benchmark (6 classes, 240 '
                        'test images)'}
    # Only the model trained by `make demo` is published (and shipped); the
    # real-data entries have no weights and no numbers yet.
    published = [e for e in entries if e.weights is not None]
    assert [e.name for e in published] == [
        'brnpa_resnet18-w16_1xb32_synthetic-parts']
    assert published[0].weights.startswith('file://')
    assert os.path.isfile(published[0].weights[len('file://'):])
    rest = [e for e in entries if e.weights is None]
    assert all(e.status == NOT_TRAINED for e in rest)
    assert all(v is None for e in rest for v in e.metrics.values())


def test_every_config_exists():
    missing = [e.config for e in read_model_index()
               if not os.path.isfile(e.config)]
    assert missing == []


def test_distilled_entries_name_their_teacher_in_the_zoo():
    entries = {e.name: e for e in read_model_index()}
    students = [e for e in entries.values() if 'Teacher' in e.metadata]
    assert len(students) == 8
    for student in students:
        assert student.metadata['Teacher'] in entries, student.name


def test_an_entry_is_published_by_adding_weights_and_sha256(tmp_path):
    data = yaml.safe_load((REPO / 'configs/brnpa/metafile.yml').read_text())
    model = data['Models'][0]
    model['Weights'] = f'https://example.org/{model["Name"]}-abababab.pth'
    model.setdefault('Metadata', {})['SHA256'] = SHA
    path = tmp_path / 'metafile.yml'
    path.write_text(yaml.safe_dump(data))
    entry = read_metafile(path, REPO)[0]
    assert entry.status == PUBLISHED and entry.sha256 == SHA
    assert entry.config == str(REPO / model['Config'])
    assert 'SHA256' not in entry.metadata


@pytest.mark.parametrize('kwargs, message', [
    (dict(weights='https://x/y.pth'), 'has Weights but no Metadata: SHA256'),
    (dict(sha256=SHA), 'has a SHA256 but no Weights'),
    (dict(weights='https://x/y.pth', sha256='12'), '64 hex digits'),
    (dict(weights='https://x/y-cdcdcdcd.pth', sha256=SHA),
     'has hash cdcdcdcd but SHA256 is'),
    (dict(weights='s3://x/y.pth', sha256=SHA), 'scheme must be one of'),
    (dict(name='two words'), "name 'two words' is not a single"),
    (dict(task=''), 'task must be a non-empty string'),
])
def test_entry_validation(kwargs, message):
    arguments = dict(name='x', task='Image Classification', dataset='D')
    with pytest.raises(ValueError, match=message):
        ZooEntry(**{**arguments, **kwargs})


@pytest.mark.parametrize('name', [
    '../../escaped_name', 'a/b', 'a\\b', '..', '.', '.hidden', '-x', '/abs',
    'tab\tname', 'nul\0name', 'caf\u00e9'])
def test_entry_names_are_single_path_safe_tokens(name):
    with pytest.raises(ValueError, match='is not a single path-safe') as error:
        ZooEntry(name, 'Image Classification', 'D')
    assert repr(name) in str(error.value)


def test_the_shipped_names_and_mmpretrain_style_names_are_valid():
    names = [e.name for e in read_model_index()] + [
        'resnet50_8xb32_in1k', 'vit-base-p16_in21k-pre_3rdparty_in1k-384px',
        'convnext-v2-atto_fcmae-pre_3rdparty_in1k', 'a+b.v2', '_private']
    assert [ZooEntry(n, 'Image Classification', 'D').name
            for n in names] == names


def test_a_bad_name_in_a_metafile_names_the_file_and_the_value(tmp_path):
    path = tmp_path / 'metafile.yml'
    path.write_text('Models:\n  - Name: ../../escaped_name\n    Results:\n'
                    '      - {Task: T, Dataset: D, Metrics: {}}\n')
    with pytest.raises(MetafileError) as error:
        read_metafile(path)
    assert f"{path}: Zoo entry name '../../escaped_name' is not a single " \
        'path-safe token' in str(error.value)


@pytest.mark.parametrize('text, message', [
    ('Models: [', 'is not valid YAML'),
    ('Models:\n  - Name: x\n', 'has 0 Results'),
    ('Models:\n  - Name: x\n    Weights: https://x/y.pth\n    Results:\n'
     '      - {Task: T, Dataset: D, Metrics: {}}\n', 'no Metadata: SHA256'),
])
def test_bad_metafiles_name_the_file(tmp_path, text, message):
    path = tmp_path / 'metafile.yml'
    path.write_text(text)
    with pytest.raises(MetafileError, match=message) as error:
        read_metafile(path)
    assert str(path) in str(error.value)


def test_duplicate_names_across_metafiles(tmp_path):
    model = ('Models:\n  - Name: same\n    Results:\n'
             '      - {Task: T, Dataset: D, Metrics: {}}\n')
    (tmp_path / 'a.yml').write_text(model)
    (tmp_path / 'b.yml').write_text(model)
    (tmp_path / 'model-index.yml').write_text('Import: [a.yml, b.yml]\n')
    with pytest.raises(MetafileError, match="'same' appears in both"):
        read_model_index(tmp_path / 'model-index.yml')
