"""tools/benchmark.py end to end, with tiny sizes."""
import importlib.util
import os
import re
import subprocess
import sys

import pytest

from brnpa_plugins.profiling import machine

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def test_benchmark_reports_every_ratio(tmp_path):
    out = tmp_path / 'bench.md'
    result = subprocess.run(
        [sys.executable, 'tools/benchmark.py', '--depth', '18', '--size',
         '64', '--grouping-size', '32', '--grouping-batch', '2',
         '--explain-size', '64', '--rise-masks', '4', '--eval-images', '1',
         '--train-batch', '1', '--repeats', '2', '--threads', '1', '--out',
         str(out)],
        cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    text = out.read_text()
    assert text.startswith(machine('cpu', 1))
    assert 'command: python tools/benchmark.py --depth 18' in text
    assert 'Wall times of 2 repeats' in text
    rows = [line for line in text.splitlines()
            if line.startswith('| ') and not line.startswith('| comparison')]
    assert len(rows) == 8
    for name in ('low-res 2x2 maps, 64 px', 'high-res 8x8 maps, 64 px',
                 'high-res 4x4 maps, 2 x 32 px', 'Grad-CAM', 'Score-CAM',
                 'RISE (4 masks)', 'deletion + insertion', 'training step'):
        assert any(name in row for row in rows), name
    for row in rows:
        cells = [cell.strip() for cell in row.split('|')[2:6]]
        # median (min-max) of each side, then the ratio and its range
        for cell in cells[:2]:
            median, low, high = map(float, re.fullmatch(
                r'(\S+) \((\S+)-(\S+)\)', cell).groups())
            assert 0 < low <= median <= high
        low, high = map(float, cells[3].split('-'))
        assert 0 < low <= float(cells[2]) <= high
    # one image x (12 x 12 map = 144 steps + 1) points x 2 curves
    assert re.search(r'1 images x 145 points x 2', text)


def test_benchmark_refuses_bad_sizes(capsys):
    spec = importlib.util.spec_from_file_location(
        'benchmark_tool', os.path.join(REPO, 'tools', 'benchmark.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    with pytest.raises(SystemExit) as error:
        tool.parse_args(['--repeats', '0'])
    assert error.value.code == 2
    assert '--repeats must be >= 1' in capsys.readouterr().err
