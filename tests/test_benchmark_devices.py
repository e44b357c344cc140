"""The benchmark tools' --device option and machine line."""
import os
import re
import subprocess
import sys

import pytest
import torch

from brnpa_plugins.profiling import machine

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOLS = ('benchmark.py', 'benchmark_highres.py', 'benchmark_backbones.py')


def run_tool(tool, *args):
    return subprocess.run([sys.executable, os.path.join('tools', tool),
                           *args], cwd=REPO, capture_output=True, text=True)


@pytest.mark.skipif(torch.cuda.is_available(),
                    reason='checks the error of a machine without a GPU')
@pytest.mark.parametrize('tool', TOOLS)
def test_cuda_without_a_gpu_is_a_clear_error(tool):
    result = run_tool(tool, '--device', 'cuda')
    assert result.returncode == 2, result.stderr[-2000:]
    assert re.search(r'--device cuda: torch \S+ \(a .*build\) sees no CUDA '
                     r'GPU .*or pass --device cpu', result.stderr)


@pytest.mark.parametrize('tool', TOOLS)
def test_an_unknown_device_is_refused(tool):
    result = run_tool(tool, '--device', 'gpu0')
    assert result.returncode == 2
    assert "--device must be cpu, cuda or cuda:N, got 'gpu0'" in \
        result.stderr


def test_machine_names_the_cpu_torch_and_threads():
    line = machine('cpu', 3)
    assert re.fullmatch(rf'.+, {os.cpu_count()} cores, torch '
                        rf'{re.escape(torch.__version__)}, 3 threads', line)
    assert machine('cpu', 1).endswith(', 1 thread')
