"""tools/benchmark_backbones.py runs and writes its table (tiny input)."""
import importlib
import os

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _load_tool(monkeypatch):
    # Importable by name: the tool's worker processes (spawned) unpickle
    # its functions by module name, with the parent's sys.path.
    monkeypatch.syspath_prepend(os.path.join(REPO, 'tools'))
    return importlib.import_module('benchmark_backbones')


def test_benchmark_backbones_writes_ratios_for_two_families(
        tmp_path, monkeypatch):
    tool = _load_tool(monkeypatch)
    out = tmp_path / 'table.md'
    results = tool.main([
        '--families', 'resnet50', 'deit-small', '--size', '64',
        '--batch-size', '1', '--warmup', '0', '--steps', '1', '--threads',
        '1', '--out', str(out)
    ])
    assert [r['family'] for r in results] == ['ResNet-50', 'DeiT-S/16']
    resnet, deit = results
    # 64 px: ResNet-50 2 x 2 (stride 32) -> 8 x 8 (stride 8); DeiT-S/16
    # 4 x 4 patches -> 8 x 8 at patch stride 8.
    assert (resnet['standard']['side'],
            resnet['high_resolution']['side']) == (2, 8)
    assert (deit['standard']['side'],
            deit['high_resolution']['side']) == (4, 8)
    for result in results:
        for form in ('standard', 'high_resolution'):
            assert result[form]['seconds'] > 0
            assert result[form]['peak_mib'] >= 0
    text = out.read_text()
    assert text.startswith('Machine: ')
    assert 'Step time, high-res / standard' in text
    assert '| ResNet-50 | 2 | 8 |' in text
    assert '| DeiT-S/16 | 4 | 8 |' in text


def test_benchmark_backbones_rejects_bad_arguments(monkeypatch):
    tool = _load_tool(monkeypatch)
    with pytest.raises(SystemExit):
        tool.parse_args(['--steps', '0'])
    with pytest.raises(SystemExit):
        tool.parse_args(['--families', 'vgg'])
    assert tool.parse_args([]).families == list(tool.FAMILIES)
