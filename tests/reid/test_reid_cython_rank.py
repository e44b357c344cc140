"""Building torchreid's Cython evaluator: real Cython, real C compiler.

torchreid's own rank_cy.pyx is not part of the torchreid package; these
tests compile a stand-in source through the same path, and
test_reid_metrics.py compares torchreid's evaluator itself where its source
is found.
"""
import os

import pytest

from brnpa_plugins.reid import cython_rank
from brnpa_plugins.reid.cython_rank import (PYX_ENV, CythonUnavailable,
                                            compile_rank_pyx, find_rank_pyx,
                                            load_cython_evaluator)

pytest.importorskip('Cython', reason='Cython is in the dev extra')

STAND_IN = '''
cpdef evaluate_cy(distmat, q_pids, g_pids, q_camids, g_camids, max_rank,
                  use_metric_cuhk03=False):
    cdef long doubled = 2 * max_rank
    return doubled, use_metric_cuhk03
'''


def test_a_source_is_compiled_once_into_the_build_folder(tmp_path):
    pyx = tmp_path / 'rank_cy.pyx'
    pyx.write_text(STAND_IN)
    build = tmp_path / 'build'
    evaluate = load_cython_evaluator(str(pyx), str(build))
    assert evaluate(None, None, None, None, None, 21, True) == (42, True)
    module = compile_rank_pyx(str(pyx), str(build))
    assert module.startswith(str(build)) and os.path.isfile(module)
    # Cached: the same file again, no build folder left behind.
    stamp = os.stat(module).st_mtime_ns
    assert compile_rank_pyx(str(pyx), str(build)) == module
    assert os.stat(module).st_mtime_ns == stamp
    assert [p.name for p in build.iterdir()] == [os.path.basename(
        os.path.dirname(module))]
    assert not (tmp_path / 'rank_cy.c').exists()  # source folder untouched


def test_a_compile_error_is_reported_with_the_compilers_words(tmp_path):
    pyx = tmp_path / 'rank_cy.pyx'
    pyx.write_text('cpdef evaluate_cy(:\n')
    with pytest.raises(CythonUnavailable, match=r'compiling .*rank_cy\.pyx '
                       r'failed:\n(.|\n)*(Error|error)'):
        compile_rank_pyx(str(pyx), str(tmp_path / 'build'))
    assert list((tmp_path / 'build').iterdir()) == []  # nothing half-built


def test_where_the_source_is_looked_for(tmp_path, monkeypatch):
    monkeypatch.delenv(PYX_ENV, raising=False)
    if cython_rank.installed_evaluator() is None:
        with pytest.raises(CythonUnavailable, match=f'set {PYX_ENV} to a '
                           'rank_cy.pyx'):
            find_rank_pyx()
    missing = str(tmp_path / 'nowhere.pyx')
    monkeypatch.setenv(PYX_ENV, missing)
    with pytest.raises(CythonUnavailable,
                       match=f'{PYX_ENV}=.*nowhere.pyx.* is not a file'):
        find_rank_pyx()
    source = tmp_path / 'rank_cy.pyx'
    source.write_text(STAND_IN)
    monkeypatch.setenv(PYX_ENV, str(source))
    assert find_rank_pyx() == str(source)
    with pytest.raises(CythonUnavailable, match="pyx=.*nowhere.pyx"):
        find_rank_pyx(missing)  # an explicit path wins over the variable
