"""Run mmpretrain's own command-line tools with BR-NPA registered.

``tools/train.py`` and ``tools/test.py`` of this project are mmpretrain's
tools, with the same arguments: this module finds them (shipped in the
mmpretrain package under ``.mim/tools``, or in a source checkout) and runs
them after importing the plugin.
"""
import os
import runpy
import sys
from typing import Optional, Sequence


def find_mmpretrain_tool(name: str) -> str:
    """Path of mmpretrain's ``tools/<name>.py``.

    Args:
        name (str): e.g. ``'train'`` or ``'analysis_tools/get_flops'``.
    """
    import mmpretrain
    package = os.path.dirname(mmpretrain.__file__)
    candidates = [
        os.path.join(package, '.mim', 'tools', f'{name}.py'),
        os.path.join(os.path.dirname(package), 'tools', f'{name}.py'),
    ]
    for path in candidates:
        if os.path.isfile(path):
            return path
    raise FileNotFoundError(
        f'mmpretrain tool {name!r} not found in {candidates}; reinstall '
        'mmpretrain (`pip install "brnpa-plugins[openmmlab]"`) so that its '
        'tools are present.')


def run_mmpretrain_tool(name: str, argv: Optional[Sequence[str]] = None):
    """Run mmpretrain's tool ``name`` as ``__main__`` with ``argv``.

    The keys of ``--cfg-options`` are checked against the config first
    (:func:`~.cfg_options.checked_arguments`); an unknown one stops the tool
    with a message naming it and the closest key. The patches the tool
    needs (:func:`~.compat.apply_tool_patches`) are applied before it runs.

    Args:
        name (str): The tool under mmpretrain's ``tools/``, without
            ``.py``: ``'train'``, ``'visualization/vis_cam'``...
        argv (Sequence[str], optional): Its arguments. Defaults to the
            command line's.
    """
    import brnpa_plugins.openmmlab  # noqa: F401  (registers the modules)
    from ..core.checks import UnknownKeyError
    from .cfg_options import checked_arguments
    from .compat import apply_tool_patches
    path = find_mmpretrain_tool(name)
    arguments = list(sys.argv[1:] if argv is None else argv)
    config = next((a for a in arguments
                   if not a.startswith('-') and a.endswith('.py')), None)
    try:
        arguments = checked_arguments(arguments, config,
                                      amp='--amp' in arguments)
    except UnknownKeyError as error:
        raise SystemExit(f'error: {error}') from None
    apply_tool_patches(name)
    saved = sys.argv
    sys.argv = [path] + arguments
    try:
        runpy.run_path(path, run_name='__main__')
    finally:
        sys.argv = saved
        close_process_group()


def close_process_group() -> None:
    """Destroy the process group that ``--launcher`` created, if any.

    mmengine leaves it open; at interpreter exit a live gloo group can abort
    the process ("terminate called without an active exception") after the
    work is done, which torchrun reports as a failed rank.
    """
    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
