"""Parameters and FLOPs in the metafiles, as mmpretrain's get_flops counts."""
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from mmengine.analysis.print_helper import _format_size

from brnpa_plugins.openmmlab.complexity import measure_complexity
from brnpa_plugins.zoo import MetafileError, get_entry
from brnpa_plugins.zoo.edit import set_model_metadata_text

REPO = Path(__file__).resolve().parents[2]
TOOL = runpy.run_path(str(REPO / 'tools' / 'gen_model_zoo.py'))
DEMO = 'brnpa_resnet18-w16_1xb32_synthetic-parts'


def _printed(output: str, label: str) -> str:
    return next(line.split(': ', 1)[1] for line in output.splitlines()
                if line.startswith(f'{label}: '))


def test_demo_metafile_numbers_are_what_get_flops_prints():
    entry = get_entry(DEMO)
    size = entry.metadata['Input Size']
    result = subprocess.run(
        [sys.executable, 'tools/get_flops.py', entry.config, '--shape',
         str(size)], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert _printed(result.stdout, 'Flops') == _format_size(
        entry.metadata['FLOPs'])
    assert _printed(result.stdout, 'Params') == _format_size(
        entry.metadata['Parameters'])
    assert measure_complexity(entry.config, (size, size)) == dict(
        params=entry.metadata['Parameters'], flops=entry.metadata['FLOPs'])


def test_every_image_classifier_has_its_numbers():
    from brnpa_plugins.zoo import zoo_entries
    classifiers = [e for e in zoo_entries().values()
                   if e.task == 'Image Classification']
    assert len(classifiers) == 13
    for entry in classifiers:
        assert entry.metadata['Parameters'] > 0, entry.name
        assert entry.metadata['FLOPs'] > 0, entry.name


def _index(tmp_path, config, size, parameters=1):
    metafile = tmp_path / 'metafile.yml'
    metafile.write_text(
        '# kept\nModels:\n'
        f'  - Name: {DEMO}\n    Metadata:\n      Input Size: {size}\n'
        f'      Parameters: {parameters}  # replaced\n'
        '    Results:\n      - Task: Image Classification\n'
        '        Dataset: d\n        Metrics:\n'
        '          Top 1 Accuracy: null\n'
        f'    Config: {config}\n')
    index = tmp_path / 'model-index.yml'
    index.write_text('Import:\n  - metafile.yml\n')
    return index, metafile


def test_measure_fills_the_metafile_and_the_table(tmp_path):
    index, metafile = _index(tmp_path, get_entry(DEMO).config, 96)
    out = tmp_path / 'MODEL_ZOO.md'
    assert TOOL['main'](['--model-index', str(index), '--out', str(out),
                         '--measure']) == 0
    text = metafile.read_text()
    assert text.startswith('# kept\n')
    metadata = yaml.safe_load(text)['Models'][0]['Metadata']
    demo = get_entry(DEMO).metadata
    assert metadata['Parameters'] == demo['Parameters']
    assert metadata['FLOPs'] == demo['FLOPs']
    assert '| Params (M) | FLOPs (G) |' in out.read_text()
    assert f"| {demo['Parameters'] / 1e6:.2f} |" in out.read_text()


def test_an_input_size_the_pipeline_contradicts_is_refused(tmp_path):
    config = REPO / 'configs' / 'brnpa' / 'brnpa-lowres_resnet50_8xb12_cub.py'
    index, metafile = _index(tmp_path, config, 224)
    with pytest.raises(MetafileError, match=r'Input Size 224 but the test '
                       r'pipeline .* gives 448 px'):
        TOOL['main'](['--model-index', str(index), '--measure',
                      '--out', str(tmp_path / 'zoo.md')])
    assert 'Parameters: 1  # replaced' in metafile.read_text()


def test_editing_an_unknown_model_names_it():
    with pytest.raises(MetafileError, match="no model named 'nope'"):
        set_model_metadata_text('Models:\n  - Name: a\n', 'nope', {'x': 1},
                                'meta.yml')


def test_an_edit_that_breaks_the_yaml_names_the_file_and_writes_nothing(
        tmp_path):
    from brnpa_plugins.zoo.edit import set_model_metadata
    metafile = tmp_path / 'metafile.yml'
    text = 'Models:\n  - Name: a\n    Metadata:\n      Epochs: 1\n'
    metafile.write_text(text)
    with pytest.raises(MetafileError, match=f'{metafile} is not valid YAML'):
        set_model_metadata(metafile, 'a', {'FLOPs': 'a: b: c'})
    assert metafile.read_text() == text
