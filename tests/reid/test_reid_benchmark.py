import os

import pytest

from brnpa_plugins.reid.cython_rank import PYX_ENV, installed_evaluator

SMALL = ['--num-query', '40', '--num-gallery', '300', '--num-ids', '20',
         '--num-distractors', '30', '--dim', '16', '--repeats', '1',
         '--python-repeats', '1']


def test_benchmark_runs_and_agrees_with_torchreid(reid_tool, monkeypatch,
                                                  tmp_path):
    monkeypatch.delenv(PYX_ENV, raising=False)
    log = reid_tool('benchmark_reid_eval', [*SMALL, '--threads', '1',
                                            '--build-dir', str(tmp_path)])
    assert 'Machine: ' in log and '1 thread' in log
    assert 'torchreid Python: ' in log and 'identical' in log
    assert 'agrees with torchreid: True' in log
    if installed_evaluator() is None:
        assert ("Note: torchreid's Cython evaluator is not measured: the "
                'installed torchreid has no compiled rank_cy') in log
        assert 'torchreid Cython: ' not in log


@pytest.mark.skipif(not os.environ.get(PYX_ENV),
                    reason=f"{PYX_ENV} names no rank_cy.pyx of torchreid's")
def test_benchmark_times_torchreids_cython_evaluator(reid_tool, tmp_path):
    log = reid_tool('benchmark_reid_eval', [*SMALL, '--build-dir',
                                            str(tmp_path)])
    assert 'torchreid Cython: ' in log and 'CMC identical' in log
    assert 'agrees with torchreid: True' in log


def test_a_source_that_does_not_compile_is_a_note(reid_tool, tmp_path):
    broken = tmp_path / 'rank_cy.pyx'
    broken.write_text('cpdef evaluate_cy(:\n')
    log = reid_tool('benchmark_reid_eval', [
        *SMALL, '--rank-pyx', str(broken), '--build-dir',
        str(tmp_path / 'build')])
    assert f'not measured: compiling {broken} failed' in log
    assert 'agrees with torchreid: True' in log
