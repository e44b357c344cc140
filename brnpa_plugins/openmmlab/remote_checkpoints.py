"""mmengine checkpoint loaders for URLs and zoo names, with verified files.

:func:`register_checkpoint_loaders` makes mmengine's ``load_checkpoint``
(``load_from``, ``init_cfg=dict(type='Pretrained', ...)``,
``mmpretrain.get_model(..., pretrained=True)``) fetch ``http://`` and
``https://`` checkpoints through :func:`brnpa_plugins.zoo.download_checkpoint`:
the SHA-256 is checked (the full hash when the URL is in a zoo metafile, the
'<name>-<first 8 hex>.pth' convention otherwise), the file is cached,
``$BRNPA_MIRROR`` applies, and it is loaded with ``weights_only=True``. It
also adds the ``brnpa://<zoo name>`` scheme.
"""
from pathlib import Path

import torch
from mmengine.dist import get_dist_info
from mmengine.runner.checkpoint import CheckpointLoader

from ..core.io import load_checkpoint_file
from ..zoo import load_checkpoint, resolve_checkpoint
from ..zoo.download import url_file_name

#: ``brnpa://<zoo name>`` loads a zoo checkpoint by name.
ZOO_SCHEME = 'brnpa://'


def _verified_file(url: str, model_dir, progress) -> Path:
    if model_dir is None:
        # mmengine kept downloads in PyTorch's hub cache: a file already
        # there (e.g. copied by hand on an offline machine) is verified and
        # used in place rather than downloaded again.
        hub_dir = Path(torch.hub.get_dir()) / 'checkpoints'
        if (hub_dir / url_file_name(url)).is_file():
            model_dir = hub_dir
    return resolve_checkpoint(url, model_dir, progress)


def load_from_verified_http(filename, map_location=None, model_dir=None,
                            progress=None):
    """Download (once, verified) and load an http(s) checkpoint.

    Same arguments as mmengine's ``load_from_http``; ``model_dir`` defaults
    to the brnpa_plugins cache. As there, in distributed runs rank 0
    downloads first and the other ranks then read the cached file.
    """
    rank, world_size = get_dist_info()
    if rank == 0:
        path = _verified_file(filename, model_dir, progress)
    if world_size > 1:
        torch.distributed.barrier()
        if rank > 0:
            path = _verified_file(filename, model_dir, progress)
    return load_checkpoint_file(path, map_location)


def load_from_brnpa_zoo(filename, map_location=None):
    """Load ``brnpa://<zoo name>``; a clear error when none is published."""
    return load_checkpoint(filename[len(ZOO_SCHEME):], map_location)


def register_checkpoint_loaders() -> None:
    """Register the http(s) and ``brnpa://`` loaders with mmengine.

    Idempotent. The local-file loader (prefix '') is left alone.
    """
    CheckpointLoader.register_scheme(
        prefixes=('http://', 'https://'), loader=load_from_verified_http,
        force=True)
    CheckpointLoader.register_scheme(
        prefixes=ZOO_SCHEME, loader=load_from_brnpa_zoo, force=True)
