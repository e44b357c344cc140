"""tools/gpu_check.sh: its CPU dry run writes the whole report."""
import os
import re
import subprocess
import sys

import pytest
import torch

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(REPO, 'tools', 'gpu_check.sh')
STEPS = ('Neck / backbone, float32', 'Neck / backbone, under autocast',
         'Explanation time: Grad-CAM, Score-CAM and RISE over BR-NPA',
         'AMP training step: mmpretrain (tools/train.py --amp)',
         'AMP training step: torchreid',
         'AMP training step: few-shot (tools/train_fewshot.py --amp)',
         'BR-NPA maps: device against CPU')


def run_script(*args):
    env = dict(os.environ, PYTHON=sys.executable, OMP_NUM_THREADS='1')
    return subprocess.run(['bash', SCRIPT, *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=900)


def sections(text):
    """{title: body} of the report's ## sections."""
    parts = re.split(r'^## (.+)$', text, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2]))


def test_the_dry_run_writes_every_step(tmp_path):
    out = tmp_path / 'report.md'
    result = run_script('--dry-run', str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    text = out.read_text()
    assert text.startswith('# GPU check (tools/gpu_check.sh)\n')
    assert 'Mode: dry run: the CPU, tiny sizes' in text
    assert re.search(r'^Machine: .+, torch .+, 1 thread\.$', text, re.M)
    assert 'Result: every step ok.' in text
    found = sections(text)
    assert list(found) == list(STEPS)
    for title, body in found.items():
        assert re.search(r'^Result: ok \(\d+ s\)\.$', body, re.M), title
    # the benchmark tables: three neck rows each, then the explanations
    for title in STEPS[:2]:
        assert len(re.findall(r'^\| BR-NPA neck / ResNet-18 backbone',
                              found[title], re.M)) == 3
    assert 'autocast bfloat16 |' in found[STEPS[1]]
    assert 'RISE (8 masks) / BR-NPA explanation' in found[STEPS[2]]
    # each ecosystem trained under bfloat16 autocast
    for title in (STEPS[3], STEPS[5]):
        assert ('Log: AmpOptimWrapper: mixed precision with autocast dtype '
                'bfloat16 on cpu') in found[title]
    assert re.search(r'\| brnpa_resnet18 \| 8 x 64x32 \| bfloat16 \| '
                     r'bfloat16 \| [\d.]+ \| yes \| ok \|', found[STEPS[4]])
    maps = found[STEPS[6]]
    assert re.search(r'\| grouping on the same features \| 1\.000 \| '
                     r'0\.00e\+00 .*\| ok \|', maps)
    assert '| whole model, float32 | 1.000 |' in maps
    assert '| whole model, autocast bfloat16 |' in maps
    assert not list(tmp_path.glob('*.partial'))


@pytest.mark.skipif(torch.cuda.is_available(),
                    reason='checks the refusal on a machine without a GPU')
def test_the_gpu_mode_without_a_gpu_names_the_dry_run(tmp_path):
    result = run_script(str(tmp_path / 'report.md'))
    assert result.returncode == 2
    assert 'torch sees no CUDA GPU here; tools/gpu_check.sh --dry-run' in \
        result.stderr
    assert not (tmp_path / 'report.md').exists()


@pytest.mark.parametrize('args', [[], ['--fast', 'x.md'], ['a.md', 'b.md']])
def test_bad_arguments_print_the_usage(args):
    result = run_script(*args)
    assert result.returncode == 2
    assert 'usage: ' in result.stderr and '[--dry-run] OUT.md' in \
        result.stderr
