"""Run mmpretrain's own command-line tools with BR-NPA registered.

``tools/train.py`` and ``tools/test.py`` of this project are mmpretrain's
tools, with the same arguments: this module finds them (shipped in the
mmpretrain package under ``.mim/tools``, or in a source checkout) and runs
them after importing the plugin.
"""
import os
import runpy
import sys
from typing import List, Optional, Sequence


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


def cfg_option_keys(argv: Sequence[str]) -> List[str]:
    """The KEYs of ``--cfg-options KEY=VALUE ...`` in a tool's arguments."""
    keys, inside = [], False
    for item in argv:
        if item.startswith('--'):
            inside = item == '--cfg-options'
        elif inside:
            keys.append(item.split('=', 1)[0])
    return keys


def check_cfg_options(config_file: str, keys: Sequence[str]) -> None:
    """Refuse an override whose sections are not in the config.

    mmengine adds any key it is given, so ``trian_cfg.max_epochs=2`` would
    silently train with the config's own schedule. The last part of a key
    may be new (an argument the config leaves at its default, which the
    module's constructor checks); every part before it must exist.

    Raises:
        UnknownKeyError: naming the override, the missing part, the closest
            existing key and the keys there.
    """
    from mmengine.config import Config

    from ..core.checks import UnknownKeyError, check_known_names
    if not keys:
        return
    cfg = Config.fromfile(config_file)
    for key in keys:
        node, parts = cfg.to_dict(), key.split('.')
        subject = f'--cfg-options {key} (config {config_file})'
        for depth, part in enumerate(parts[:-1]):
            if isinstance(node, (list, tuple)) and part.isdigit() and \
                    int(part) < len(node):
                node = node[int(part)]
                continue
            if not isinstance(node, dict):
                raise UnknownKeyError(
                    f"{subject}: {'.'.join(parts[:depth])} is {node!r} there, "
                    'not a section with keys; set it as a whole (e.g. '
                    f"{'.'.join(parts[:depth])}=...) or edit the config.")
            check_known_names(
                [part], list(node), subject,
                prefix='.'.join(parts[:depth] + ['']))
            node = node[part]


def run_mmpretrain_tool(name: str, argv: Optional[Sequence[str]] = None):
    """Run mmpretrain's tool ``name`` as ``__main__`` with ``argv``.

    The keys of ``--cfg-options`` are checked against the config first
    (:func:`check_cfg_options`); an unknown one stops the tool with a
    message naming it and the closest key. The patches the tool needs
    (:func:`~.compat.apply_tool_patches`) are applied before it runs.

    Args:
        name (str): The tool under mmpretrain's ``tools/``, without
            ``.py``: ``'train'``, ``'visualization/vis_cam'``...
        argv (Sequence[str], optional): Its arguments. Defaults to the
            command line's.
    """
    import brnpa_plugins.openmmlab  # noqa: F401  (registers the modules)
    from ..core.checks import UnknownKeyError
    from .compat import apply_tool_patches
    path = find_mmpretrain_tool(name)
    arguments = list(sys.argv[1:] if argv is None else argv)
    config = next((a for a in arguments
                   if not a.startswith('-') and a.endswith('.py')), None)
    if config is not None and os.path.isfile(config):
        try:
            check_cfg_options(config, cfg_option_keys(arguments))
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
