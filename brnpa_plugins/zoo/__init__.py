"""The model zoo: metafile entries and verified checkpoint downloads.

    from brnpa_plugins.zoo import load_checkpoint
    state = load_checkpoint('brnpa-highres_resnet50_8xb12_cub')
"""
from .download import (CACHE_ENV, MIRROR_ENV, ChecksumError, DownloadError,
                       default_cache_dir, download_checkpoint, sha256_of)
from .load import NoCheckpointError, load_checkpoint, resolve_checkpoint
from .metafile import MetafileError, ZooEntry, read_metafile, read_model_index
from .registry import UnknownNameError, expected_sha256, get_entry, zoo_entries

__all__ = [
    'CACHE_ENV', 'MIRROR_ENV', 'ChecksumError', 'DownloadError',
    'MetafileError', 'NoCheckpointError', 'UnknownNameError', 'ZooEntry',
    'default_cache_dir', 'download_checkpoint', 'expected_sha256',
    'get_entry', 'load_checkpoint', 'read_metafile', 'read_model_index',
    'resolve_checkpoint', 'sha256_of', 'zoo_entries'
]
