"""Setting metadata of one model in a metafile, keeping its comments.

Metafiles carry comments (where a number comes from, how to publish), so
they are edited line by line instead of being dumped again by a YAML
library; the result is parsed back to check the edit.
"""
import os
import re
from typing import Any, Mapping, Union

from ..core import atomic_write_text
from .metafile import MetafileError, parse_yaml


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(' '))


def _model_span(lines, name: str, path) -> tuple:
    pattern = re.compile(r'^( *)- Name: *' + re.escape(name) + r' *$')
    for start, line in enumerate(lines):
        match = pattern.match(line.rstrip('\n'))
        if match:
            level = len(match.group(1))
            end = start + 1
            while end < len(lines) and (
                    not lines[end].strip() or
                    lines[end].lstrip().startswith('#') or
                    _indent(lines[end]) > level):
                end += 1
            return start, end, level + 2
    raise MetafileError(f'{path}: no model named {name!r}; the names are '
                        'the config file names (see brnpa zoo list).')


def set_model_metadata_text(text: str, name: str, values: Mapping[str, Any],
                            path: str = 'metafile') -> str:
    """``text`` with ``Metadata: KEY: VALUE`` set for model ``name``.

    Args:
        text (str): The metafile's text.
        name (str): The model's ``Name``.
        values (Mapping[str, Any]): Keys to set; an existing key is
            replaced in place, a new one is added at the end of the block.
        path (str): The file, for error messages.
    """
    lines = text.splitlines(keepends=True)
    start, end, level = _model_span(lines, name, path)
    header = next((i for i in range(start + 1, end)
                   if lines[i].rstrip() == ' ' * level + 'Metadata:'), None)
    if header is None:
        raise MetafileError(f'{path}: model {name!r} has no Metadata block; '
                            'add one (Training Data, Epochs, Batch Size...).')
    last = header
    for i in range(header + 1, end):
        if lines[i].strip() and not lines[i].lstrip().startswith('#'):
            if _indent(lines[i]) <= level:
                break
            last = i
    for key, value in values.items():
        line = f"{' ' * (level + 2)}{key}: {value}\n"
        found = next((i for i in range(header + 1, last + 1)
                      if lines[i].lstrip().startswith(f'{key}:')), None)
        if found is None:
            last += 1
            lines.insert(last, line)
        else:
            lines[found] = line
    return ''.join(lines)


def set_model_metadata(path: Union[str, os.PathLike], name: str,
                       values: Mapping[str, Any]) -> None:
    """Set ``values`` in the Metadata of model ``name`` in metafile ``path``.

    The file is rewritten atomically, and only when the parsed result holds
    exactly the values asked for.

    Raises:
        MetafileError: naming the file and the model.
    """
    with open(path, encoding='utf-8') as file:
        text = set_model_metadata_text(file.read(), name, values, str(path))
    models = {m.get('Name'): m for m in parse_yaml(text, path)['Models']}
    written = models[name].get('Metadata', {})
    wrong = {k: written.get(k) for k, v in values.items()
             if written.get(k) != v}
    if wrong:
        raise MetafileError(f'{path}: setting {dict(values)} in {name!r} '
                            f'read back as {wrong}; edit it by hand.')
    atomic_write_text(path, text)
