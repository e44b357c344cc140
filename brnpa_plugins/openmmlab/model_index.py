"""This project's model zoo in mmpretrain's ``ModelHub``.

After :func:`register_model_index`, ``mmpretrain.list_models('brnpa*')``
lists the zoo's image-classification entries and
``mmpretrain.get_model(name, pretrained=True)`` builds them from their config
and loads their published checkpoint. Every entry gets the weights
``brnpa://<name>``, resolved by the zoo (SHA-256 verified); for an entry
without a checkpoint, ``pretrained=True`` fails with "no checkpoint published
yet" instead of silently keeping random weights. That needs the loaders of
:mod:`.remote_checkpoints` registered.
"""
import os
from pathlib import Path
from typing import List, Union

from ..zoo.metafile import find_model_index
from .remote_checkpoints import ZOO_SCHEME

#: mmpretrain builds models for these tasks; re-ID and few-shot entries are
#: trained and loaded with their own libraries.
MMPRETRAIN_TASKS = ('Image Classification', )


def register_model_index(
        model_index_path: Union[str, os.PathLike, None] = None) -> List[str]:
    """Register a model index's classification entries with mmpretrain.

    Config paths are resolved relative to the model index's directory.
    Registering the same file again changes nothing.

    Args:
        model_index_path (str | PathLike | None): A model-index.yml.
            Defaults to this project's
            (:func:`brnpa_plugins.zoo.metafile.find_model_index`).

    Returns:
        list[str]: the names registered by this call.

    Raises:
        ValueError: a name is already registered from another metafile.
    """
    from mmpretrain.apis.model import ModelHub
    from modelindex.load_model_index import load

    path = Path(model_index_path or find_model_index()).resolve()
    index = load(str(path))
    index.build_models_with_collections()
    added = []
    for metainfo in index.models:
        tasks = {result.task for result in metainfo.results or []}
        if not tasks.intersection(MMPRETRAIN_TASKS):
            continue
        key = metainfo.name.lower()
        known = ModelHub._models_dict.get(key)
        if known is not None:
            if os.path.samefile(known.filepath, metainfo.filepath):
                continue
            raise ValueError(
                f'Model name {metainfo.name!r} of {metainfo.filepath} is '
                f'already registered from {known.filepath}; rename one.')
        metainfo.config = ModelHub._expand_config_path(metainfo, path.parent)
        # Weights always go through the zoo: verified download of a URL,
        # a checkpoint shipped with the project (a path relative to the
        # index), or the "no checkpoint published yet" error.
        metainfo.weights = ZOO_SCHEME + metainfo.name
        # ModelHub.register_model_index would also take the re-ID and
        # few-shot entries, whose configs mmpretrain cannot build.
        ModelHub._models_dict[key] = metainfo
        added.append(metainfo.name)
    return added
