"""The model zoo's classification entries in mmpretrain's ``ModelHub``.

After :func:`register_model_index`, ``mmpretrain.list_models('brnpa*')``
lists the image-classification entries of every plugin's zoo, and
``mmpretrain.get_model(name, pretrained=True)`` (and so
``BRNPAInferencer(name)``) builds them from their config and loads their
published checkpoint. The entries reach mmpretrain through its public
``ModelHub.register_model_index``: they are written to a model-index file of
their own, every one with the weights ``brnpa://<name>``, resolved by the
zoo (SHA-256 verified); for an entry without a checkpoint,
``pretrained=True`` fails with "no checkpoint published yet" instead of
silently keeping random weights. That needs the loaders of
:mod:`.remote_checkpoints` registered.
"""
import os
import tempfile
from typing import Dict, Iterable, List, Union

import yaml

from ..zoo import ZooEntry, read_model_index, zoo_entries
from .remote_checkpoints import ZOO_SCHEME

#: mmpretrain builds models for these tasks; re-ID and few-shot entries are
#: trained and loaded with their own libraries.
MMPRETRAIN_TASKS = ('Image Classification', )

# Lower-cased name -> config of the entries this module gave mmpretrain.
_registered: Dict[str, str] = {}


def _metafile_model(entry: ZooEntry) -> dict:
    metrics = {k: v for k, v in entry.metrics.items() if v is not None}
    return {
        'Name': entry.name,
        'Results': [{'Task': entry.task, 'Dataset': entry.dataset,
                     'Metrics': metrics}],
        'Config': entry.config,
        # Weights always go through the zoo: verified download of a URL, a
        # checkpoint shipped with the project, or the "no checkpoint
        # published yet" error.
        'Weights': ZOO_SCHEME + entry.name,
    }


def register_zoo_models(entries: Iterable[ZooEntry]) -> List[str]:
    """Give mmpretrain the classification entries among ``entries``.

    Entries of other tasks, or without a config, are left out. An entry
    already given with the same config is skipped.

    Returns:
        list[str]: the names registered by this call.

    Raises:
        ValueError: a name is already in mmpretrain for another model.
    """
    from mmpretrain import list_models
    from mmpretrain.apis.model import ModelHub
    eligible = [entry for entry in entries
                if entry.task in MMPRETRAIN_TASKS and entry.config is not None]
    before = set(_registered)
    # mmpretrain registers its own models first (and, through the
    # lazy_model_index patch of .compat, the zoo's right after them)
    list_models()
    chosen = []
    for entry in eligible:
        key = entry.name.lower()
        if ModelHub.has(key):
            if _registered.get(key) == entry.config:
                continue
            known = _registered.get(key) or 'an mmpretrain model'
            raise ValueError(
                f'Model name {entry.name!r} (config {entry.config}) is '
                f'already in mmpretrain for {known}; rename one.')
        chosen.append(entry)
    if chosen:
        _register(chosen)
    # this call's: chosen here, or by the patch while mmpretrain's index
    # was read
    return [entry.name for entry in eligible if entry in chosen or (
        entry.name.lower() in _registered and
        entry.name.lower() not in before)]


def _register(chosen: List[ZooEntry]) -> None:
    from mmpretrain.apis.model import ModelHub
    with tempfile.TemporaryDirectory(prefix='brnpa-model-index-') as folder:
        path = os.path.join(folder, 'model-index.yml')
        with open(path, 'w') as stream:
            yaml.safe_dump({'Models': [_metafile_model(e) for e in chosen]},
                           stream, sort_keys=False)
        ModelHub.register_model_index(path)
    _registered.update((e.name.lower(), e.config) for e in chosen)


def register_model_index(
        model_index_path: Union[str, os.PathLike, None] = None) -> List[str]:
    """Give mmpretrain the zoo's classification entries.

    Args:
        model_index_path (str | PathLike | None): A model-index.yml whose
            entries to register; None registers the entries of every
            plugin's zoo (``brnpa zoo list``).

    Returns:
        list[str]: the names registered by this call (none the second time).
    """
    if model_index_path is not None:
        return register_zoo_models(read_model_index(model_index_path))
    return register_zoo_models(zoo_entries().values())
