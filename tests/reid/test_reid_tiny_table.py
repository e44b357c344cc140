"""The tiny-set table of docs/reid.md against a fresh run of its script."""
import os
import os.path as osp
import subprocess
import sys

import pytest

from brnpa_plugins.profiling import machine

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DOC = osp.join(REPO, 'docs', 'reid.md')


@pytest.mark.slow
def test_a_cell_of_the_tiny_table_reproduces(tmp_path):
    """Seed 1, 5 epochs, part logits off and on: two trainings (about a
    minute). The numbers hold on the CPU the table was made on."""
    with open(DOC, encoding='utf-8') as stream:
        text = stream.read()
    line = machine('cpu', threads=1)
    if f'`{line}`' not in text:
        pytest.skip(f'docs/reid.md names another machine than {line!r}: '
                    'CPU kernels change the last bits, and training amplifies '
                    'them')
    env = dict(os.environ, PYTHONPATH=REPO)
    result = subprocess.run(
        [sys.executable, osp.join(REPO, 'tools', 'reid_tiny_table.py'),
         '--work-dir', str(tmp_path), '--set', 'harder', '--epochs', '5',
         '--seeds', '1', '--check', DOC],
        capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    assert f'Same as the table in {DOC}.' in result.stdout
