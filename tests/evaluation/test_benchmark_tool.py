"""tools/benchmark.py end to end, with tiny sizes."""
import importlib.util
import os
import re
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def test_benchmark_reports_every_ratio(tmp_path):
    out = tmp_path / 'bench.md'
    result = subprocess.run(
        [sys.executable, 'tools/benchmark.py', '--depth', '18', '--size',
         '64', '--explain-size', '64', '--rise-masks', '4', '--eval-images',
         '1', '--train-batch', '1', '--repeats', '1', '--threads', '1',
         '--out', str(out)],
        cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    text = out.read_text()
    assert 'torch ' in text and 'cores' in text
    assert 'command: python tools/benchmark.py --depth 18' in text
    rows = [line for line in text.splitlines()
            if line.startswith('| ') and not line.startswith('| comparison')]
    assert len(rows) == 7
    for name in ('low-res 2x2', 'high-res 8x8', 'Grad-CAM', 'Score-CAM',
                 'RISE (4 masks)', 'deletion + insertion', 'training step'):
        assert any(name in row for row in rows), name
    ratios = [float(row.split('|')[4]) for row in rows]
    assert all(ratio > 0 for ratio in ratios)
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
