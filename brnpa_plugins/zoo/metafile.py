"""Model-zoo entries, read from OpenMMLab metafiles.

The format is mmpretrain's: a ``model-index.yml`` whose ``Import`` lists
metafiles, each with ``Collections`` and ``Models``. A model without
``Weights`` is listed as not trained yet; publishing one adds ``Weights``
(its URL) and ``Metadata: SHA256`` (printed by tools/publish_model.py).
"""
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Union

from .download import check_sha256, hash_prefix_in_name, url_file_name

MODEL_INDEX = 'model-index.yml'
PUBLISHED = 'published'
NOT_TRAINED = 'not trained yet'
# A zoo name is one file name (`brnpa zoo download --config` writes
# NAME.py), in the alphabet of OpenMMLab's model names; no leading '-', which
# the command line would read as an option.
_ENTRY_NAME = re.compile(r'[A-Za-z0-9_][A-Za-z0-9_.+-]*')


class MetafileError(ValueError):
    """A model index or metafile that cannot be read; names the file."""


def check_entry_name(name: str) -> str:
    """``name`` if it is a valid zoo name: a single path-safe token.

    Raises:
        ValueError: naming the value and the allowed characters.
    """
    if not isinstance(name, str) or not _ENTRY_NAME.fullmatch(name):
        raise ValueError(
            f'Zoo entry name {name!r} is not a single path-safe token: use '
            'ASCII letters, digits and _ . + - only, starting with a '
            'letter, a digit or _ (the name is a file name, e.g. of the '
            'config `brnpa zoo download NAME --config` writes).')
    return name


@dataclass(frozen=True)
class ZooEntry:
    """One model of the zoo.

    Args:
        name (str): Unique name, e.g. 'brnpa-highres_resnet50_8xb12_cub':
            ASCII letters, digits and ``_ . + -``, not starting with ``.``
            or ``-`` (:func:`check_entry_name`).
        task (str): e.g. 'Image Classification'.
        dataset (str): Evaluation dataset, e.g. 'CUB-200-2011'.
        metrics (Mapping[str, float | None]): Metric name -> value; None
            until the model is trained.
        config (str | None): Absolute path of the config that trains it.
        weights (str | None): Checkpoint URL; None when none is published.
        sha256 (str | None): Full SHA-256 of the checkpoint; required with
            ``weights``.
        metadata (Mapping[str, Any]): The other metafile metadata (training
            data, epochs, resolution, teacher...).
        paper (Mapping[str, str]): 'Title' and 'URL' of the paper.
        source (str | None): The metafile the entry comes from.
    """
    name: str
    task: str
    dataset: str
    metrics: Mapping[str, Optional[float]] = field(default_factory=dict)
    config: Optional[str] = None
    weights: Optional[str] = None
    sha256: Optional[str] = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    paper: Mapping[str, str] = field(default_factory=dict)
    source: Optional[str] = None

    def __post_init__(self):
        for key in ('name', 'task', 'dataset'):
            value = getattr(self, key)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f'Zoo entry {self.name!r}: {key} must be a '
                                 f'non-empty string, got {value!r}')
        check_entry_name(self.name)
        sha256 = check_sha256(self.sha256, f'Zoo entry {self.name!r}')
        object.__setattr__(self, 'sha256', sha256)
        if self.weights is None:
            if sha256 is not None:
                raise ValueError(
                    f'Zoo entry {self.name!r} has a SHA256 but no Weights; '
                    'add the checkpoint URL as Weights.')
            return
        url_file_name(self.weights)  # validates the scheme
        if sha256 is None:
            raise ValueError(
                f'Zoo entry {self.name!r} has Weights but no Metadata: '
                'SHA256; tools/publish_model.py prints both.')
        prefix = hash_prefix_in_name(url_file_name(self.weights))
        if prefix is not None and not sha256.startswith(prefix):
            raise ValueError(
                f'Zoo entry {self.name!r}: the Weights file name has hash '
                f'{prefix} but SHA256 is {sha256}; one of them is wrong.')

    @property
    def status(self) -> str:
        """'published' or 'not trained yet'."""
        return PUBLISHED if self.weights else NOT_TRAINED


def find_model_index() -> Path:
    """This project's model-index.yml.

    An installed package ships it (with the configs) in
    ``brnpa_plugins/.mim/``, as mmpretrain does; a source checkout has it at
    the repository root, and ``.mim`` links to it there.
    """
    package = Path(__file__).resolve().parents[1]
    candidates = (package / '.mim' / MODEL_INDEX, package.parent / MODEL_INDEX)
    for candidate in candidates:
        if candidate.is_file():
            # Through the links of a checkout, to the repository root.
            return candidate.resolve()
    raise FileNotFoundError(
        f'No {MODEL_INDEX} in {[str(c.parent) for c in candidates]}; '
        'reinstall brnpa-plugins.')


def parse_yaml(text: str, source: Union[str, os.PathLike]) -> Any:
    """The YAML document ``text``, read from (or meant for) ``source``.

    Raises:
        MetafileError: ``text`` is not valid YAML; names ``source``.
    """
    import yaml
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise MetafileError(f'{source} is not valid YAML: {error}') from None


def _load_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding='utf-8')
    except OSError as error:
        raise MetafileError(f'Cannot read {path}: {error}') from None
    return parse_yaml(text, path)


def _entry(model: Mapping[str, Any], collections: Mapping[str, Mapping],
           root: Path, source: Path) -> ZooEntry:
    name = model.get('Name')
    collection = collections.get(model.get('In Collection'), {})
    metadata = {**collection.get('Metadata', {}), **model.get('Metadata', {})}
    results = model.get('Results') or []
    if len(results) != 1:
        raise MetafileError(
            f'{source}: model {name!r} has {len(results)} Results; each zoo '
            'entry has exactly one (Task, Dataset, Metrics).')
    config = model.get('Config')
    weights = model.get('Weights')
    if weights and '://' not in weights:
        # A checkpoint shipped with the project: a path like Config's.
        weights = (root / weights).resolve().as_uri()
    try:
        return ZooEntry(
            name=name,
            task=results[0].get('Task'),
            dataset=results[0].get('Dataset'),
            metrics=dict(results[0].get('Metrics') or {}),
            config=str(root / config) if config else None,
            weights=weights,
            sha256=metadata.pop('SHA256', None),
            metadata=metadata,
            paper=dict(collection.get('Paper', {})),
            source=str(source))
    except ValueError as error:
        raise MetafileError(f'{source}: {error}') from None


def read_metafile(path: Union[str, os.PathLike],
                  root: Union[str, os.PathLike, None] = None
                  ) -> List[ZooEntry]:
    """The entries of one metafile.

    Args:
        path (str | PathLike): The metafile.
        root (str | PathLike | None): Directory config paths are relative
            to. Defaults to the metafile's directory.
    """
    path = Path(path)
    data = _load_yaml(path) or {}
    if not isinstance(data, dict) or not isinstance(data.get('Models', []),
                                                    list):
        raise MetafileError(f'{path}: expected a mapping with a Models list.')
    collections = {c.get('Name'): c for c in data.get('Collections') or []}
    root = Path(root) if root is not None else path.parent
    return [_entry(m, collections, root, path) for m in data.get('Models', [])]


def imported_metafiles(index: Union[str, os.PathLike]) -> List[Path]:
    """The metafiles a model-index.yml imports (its ``Import`` list).

    Args:
        index (str | PathLike): The model index.

    Raises:
        MetafileError: naming the model index.
    """
    index = Path(index)
    data = _load_yaml(index) or {}
    imports = data.get('Import') if isinstance(data, dict) else None
    if not isinstance(imports, list):
        raise MetafileError(f'{index}: expected an Import list of metafiles.')
    return [index.parent / metafile for metafile in imports]


def read_model_index(path: Union[str, os.PathLike, None] = None
                     ) -> List[ZooEntry]:
    """The entries of every metafile a model-index.yml imports.

    Config paths are relative to the model index's directory.

    Args:
        path (str | PathLike | None): The model index. Defaults to this
            project's (:func:`find_model_index`).
    """
    path = Path(path) if path is not None else find_model_index()
    entries: Dict[str, ZooEntry] = {}
    for metafile in imported_metafiles(path):
        for entry in read_metafile(metafile, path.parent):
            if entry.name in entries:
                raise MetafileError(
                    f'{path}: model {entry.name!r} appears in both '
                    f'{entries[entry.name].source} and {entry.source}.')
            entries[entry.name] = entry
    return list(entries.values())
