"""torchreid's Cython rank evaluator, compiled from its ``rank_cy.pyx``.

``torchreid.metrics.evaluate_rank`` runs the compiled ``rank_cy`` extension
when the installed torchreid has one (an install of the upstream repository
whose ``setup.py`` built it) and its Python loop otherwise. The torchreid
0.2.5 package ships neither the extension nor its ``rank_cy.pyx`` source.
:func:`load_cython_evaluator` returns torchreid's compiled ``evaluate_cy``
when it exists; otherwise it compiles a ``rank_cy.pyx`` (the installed
torchreid's, or one named by the caller or by ``$BRNPA_TORCHREID_RANK_PYX``)
with Cython into a cache folder and imports it from there. Nothing is
written into the torchreid package and torchreid's own ``evaluate_rank`` is
left as it is. The benchmark and the tests use it to compare the vectorised
evaluation with torchreid's fastest one.
"""
import hashlib
import importlib.machinery
import importlib.util
import os
import os.path as osp
import shutil
import subprocess
import sys
import tempfile
from typing import Callable, Dict, Optional

import torchreid

#: A ``rank_cy.pyx`` of torchreid to compile when the installed torchreid
#: has none (e.g. the deep-person-reid source tree's
#: ``torchreid/metrics/rank_cylib/rank_cy.pyx``).
PYX_ENV = 'BRNPA_TORCHREID_RANK_PYX'
#: Where compiled evaluators are kept, one folder per source and toolchain.
DEFAULT_BUILD_DIR = '~/.cache/brnpa_plugins/torchreid_rank_cy'

# Run in a fresh interpreter: the compiler's output and any failure stay
# out of the caller's process.
_BUILD_SCRIPT = '''
import sys
import numpy as np
from Cython.Build import cythonize
from setuptools import Extension
from setuptools.dist import Distribution

pyx, out = sys.argv[1:]
extension = Extension('rank_cy', [pyx], include_dirs=[np.get_include()])
dist = Distribution({'ext_modules': cythonize([extension], quiet=True)})
command = dist.get_command_obj('build_ext')
command.build_lib = out
command.build_temp = out + '/temp'
command.ensure_finalized()
command.run()
'''

_loaded: Dict[str, Callable] = {}


class CythonUnavailable(RuntimeError):
    """torchreid's Cython evaluator can be neither found nor compiled."""


def installed_evaluator() -> Optional[Callable]:
    """torchreid's own compiled ``evaluate_cy``, if its install has one."""
    rank = torchreid.metrics.rank
    return rank.evaluate_cy if getattr(rank, 'IS_CYTHON_AVAI', False) \
        else None


def find_rank_pyx(pyx: Optional[str] = None) -> str:
    """The ``rank_cy.pyx`` to compile: ``pyx``, ``$BRNPA_TORCHREID_RANK_PYX``
    or the installed torchreid's.

    Raises:
        CythonUnavailable: naming the places looked at and the fix.
    """
    shipped = osp.join(osp.dirname(torchreid.metrics.rank.__file__),
                       'rank_cylib', 'rank_cy.pyx')
    for source, path in (('pyx', pyx), (PYX_ENV, os.environ.get(PYX_ENV)),
                         ('the installed torchreid', shipped)):
        if not path:
            continue
        if osp.isfile(path):
            return path
        if source != 'the installed torchreid':
            raise CythonUnavailable(f'{source}={path!r} is not a file: give '
                                    "the path of torchreid's rank_cy.pyx")
    raise CythonUnavailable(
        f'the installed torchreid has no compiled rank_cy and no {shipped} '
        f'to compile (the torchreid 0.2.5 package ships neither): set '
        f"{PYX_ENV} to a rank_cy.pyx of torchreid's source "
        '(torchreid/metrics/rank_cylib/ in deep-person-reid)')


def _toolchain_key(source: bytes) -> str:
    import Cython
    import numpy
    digest = hashlib.sha256(source)
    digest.update(f'{sys.version} {numpy.__version__} {Cython.__version__}'
                  .encode())
    return digest.hexdigest()[:16]


def _compiled_module(folder: str) -> Optional[str]:
    suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
    if not osp.isdir(folder):
        return None
    names = [name for name in os.listdir(folder)
             if name.startswith('rank_cy') and name.endswith(suffixes)]
    return osp.join(folder, names[0]) if names else None


def compile_rank_pyx(pyx: str, build_dir: Optional[str] = None) -> str:
    """Compile ``pyx`` (once per source and toolchain); returns the path of
    the extension module.

    Args:
        pyx: torchreid's ``rank_cy.pyx``.
        build_dir: parent of the build folders; defaults to
            ``~/.cache/brnpa_plugins/torchreid_rank_cy``.

    Raises:
        CythonUnavailable: Cython, numpy's headers or a C compiler is
            missing, or compiling failed (with the compiler's last lines).
    """
    try:
        import Cython  # noqa: F401
    except ImportError as error:
        raise CythonUnavailable(
            'Cython is not installed: pip install "brnpa-plugins[dev]" '
            '(or pip install Cython)') from error
    with open(pyx, 'rb') as stream:
        source = stream.read()
    parent = osp.expanduser(build_dir or DEFAULT_BUILD_DIR)
    target = osp.join(parent, _toolchain_key(source))
    built = _compiled_module(target)
    if built:
        return built
    os.makedirs(parent, exist_ok=True)
    work = tempfile.mkdtemp(prefix='.building-', dir=parent)
    try:
        shutil.copyfile(pyx, osp.join(work, 'rank_cy.pyx'))
        result = subprocess.run(
            [sys.executable, '-c', _BUILD_SCRIPT,
             osp.join(work, 'rank_cy.pyx'), work],
            capture_output=True, text=True)
        if result.returncode or not _compiled_module(work):
            tail = (result.stdout + result.stderr).strip().splitlines()[-15:]
            raise CythonUnavailable(f'compiling {pyx} failed:\n' +
                                    '\n'.join(tail))
        try:
            os.rename(work, target)  # whole, or not at all
        except OSError:
            if not _compiled_module(target):  # not another process's build
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return _compiled_module(target)


def load_cython_evaluator(pyx: Optional[str] = None,
                          build_dir: Optional[str] = None) -> Callable:
    """torchreid's Cython ``evaluate_cy(distmat, q_pids, g_pids, q_camids,
    g_camids, max_rank, use_metric_cuhk03=False)``.

    The installed torchreid's compiled one when it has it, else
    :func:`find_rank_pyx`'s source compiled by :func:`compile_rank_pyx`.

    Raises:
        CythonUnavailable: with the reason and the fix.
    """
    installed = installed_evaluator()
    if installed is not None and pyx is None:
        return installed
    path = compile_rank_pyx(find_rank_pyx(pyx), build_dir)
    if path not in _loaded:
        loader = importlib.machinery.ExtensionFileLoader('rank_cy', path)
        spec = importlib.util.spec_from_file_location('rank_cy', path,
                                                      loader=loader)
        module = importlib.util.module_from_spec(spec)
        loader.exec_module(module)
        _loaded[path] = module.evaluate_cy
    return _loaded[path]
