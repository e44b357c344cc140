"""Turn a training checkpoint into a published zoo checkpoint.

    python tools/publish_model.py work_dirs/x/epoch_50.pth \\
        brnpa-highres_resnet50_8xb12_cub --url-base https://HOST/brnpa/v1

Keeps only the weights (``state_dict``) and a ``meta`` of plain Python
values, so the file loads with ``torch.load(weights_only=True)``; drops the
optimizer and runner state (message hub, parameter schedulers...). Writes
``<NAME>-<first 8 hex of its SHA-256>.pth`` and prints the metafile entry
with ``Weights`` and ``Metadata: SHA256`` filled in.
"""
import argparse
import hashlib
import importlib.util
import io
import sys
from pathlib import Path
from typing import Any, Dict, List

import torch
import yaml

from brnpa_plugins.core import (CheckpointError, atomic_write,
                                load_checkpoint_file, plain_types)
from brnpa_plugins.zoo.download import inside
from brnpa_plugins.zoo.metafile import check_entry_name, read_model_index

PLAIN_TYPES = (str, int, float, bool, type(None))
_DROP = object()


def plain(value: Any, path: str, dropped: List[str]) -> Any:
    """``value`` with only plain Python types; what is not is dropped.

    numpy scalars and arrays become Python numbers and lists
    (:func:`brnpa_plugins.core.plain_types`); other objects are left out
    and their place ('meta.x.y') is appended to ``dropped``.
    """
    return _without_objects(plain_types(value), path, dropped)


def _without_objects(value: Any, path: str, dropped: List[str]) -> Any:
    if isinstance(value, PLAIN_TYPES):
        return value
    if isinstance(value, dict):
        kept = {}
        for key, item in value.items():
            if not isinstance(key, PLAIN_TYPES):
                dropped.append(f'{path}[{key!r}]')
                continue
            kept[key] = _without_objects(item, f'{path}.{key}', dropped)
        return {k: v for k, v in kept.items() if v is not _DROP}
    if isinstance(value, (list, tuple)):
        items = [_without_objects(item, f'{path}[{i}]', dropped)
                 for i, item in enumerate(value)]
        items = [item for item in items if item is not _DROP]
        return tuple(items) if isinstance(value, tuple) else items
    dropped.append(path)
    return _DROP


def load_training_checkpoint(path: Path) -> Dict[str, Any]:
    """Load a checkpoint with ``weights_only=True``.

    Runner checkpoints go through the OpenMMLab adapter's loader, which also
    reads the form earlier versions of the adapter wrote.
    """
    load = load_checkpoint_file
    if importlib.util.find_spec('mmengine') is not None:
        from brnpa_plugins.openmmlab.checkpoint import load_local_checkpoint
        load = load_local_checkpoint
    try:
        return load(str(path))
    except (CheckpointError, FileNotFoundError) as error:
        raise SystemExit(str(error)) from None


def publishable(checkpoint: Any, dropped: List[str]) -> Dict[str, Any]:
    """The weights and plain meta of a runner checkpoint or a state dict."""
    if not isinstance(checkpoint, dict):
        raise SystemExit(f'Expected a checkpoint dict, got '
                         f'{type(checkpoint).__name__}.')
    if 'state_dict' in checkpoint:
        state_dict, meta = checkpoint['state_dict'], checkpoint.get('meta', {})
        dropped += [k for k in checkpoint if k not in ('state_dict', 'meta')]
    else:  # a bare state dict
        state_dict, meta = checkpoint, {}
    tensors = {k: v for k, v in state_dict.items()
               if isinstance(v, torch.Tensor)}
    if not tensors:
        raise SystemExit('The checkpoint holds no weights (no tensors in its '
                         'state_dict).')
    dropped += [f'state_dict.{k}' for k in state_dict if k not in tensors]
    meta = plain(meta, 'meta', dropped)
    return {'state_dict': tensors, 'meta': {} if meta is _DROP else meta}


def metafile_entry(name: str, weights: str, sha256: str,
                   model_index: Path) -> Dict[str, Any]:
    """The model's metafile entry with Weights and SHA256 set."""
    known = {e.name: e for e in read_model_index(model_index)}
    entry: Dict[str, Any] = {'Name': name}
    if name in known:
        with open(known[name].source, encoding='utf-8') as file:
            models = yaml.safe_load(file).get('Models', [])
        entry = next(m for m in models if m.get('Name') == name)
    entry.setdefault('Metadata', {})['SHA256'] = sha256
    entry['Weights'] = weights
    return entry


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description='Strip a training checkpoint to its weights, name it '
        '<NAME>-<sha256[:8]>.pth and print its metafile entry.')
    parser.add_argument('in_file', type=Path, help='training checkpoint')
    parser.add_argument('name', help='zoo name, e.g. '
                        'brnpa-highres_resnet50_8xb12_cub')
    parser.add_argument('--out-dir', type=Path, default=Path('.'),
                        help='where to write the published file (default: .)')
    parser.add_argument('--url-base', default=None,
                        help='URL the file will be served from (default: a '
                        'file:// URL of --out-dir, to try it locally)')
    parser.add_argument('--model-index', type=Path, default=None,
                        help='model-index.yml holding NAME (default: this '
                        'project\'s)')
    args = parser.parse_args(argv)
    try:
        check_entry_name(args.name)
    except ValueError as error:
        parser.error(str(error))

    dropped: List[str] = []
    published = publishable(load_training_checkpoint(args.in_file), dropped)
    buffer = io.BytesIO()
    torch.save(published, buffer)
    data = buffer.getvalue()
    torch.load(io.BytesIO(data), map_location='cpu', weights_only=True)
    sha256 = hashlib.sha256(data).hexdigest()
    out = inside(args.out_dir, f'{args.name}-{sha256[:8]}.pth')
    atomic_write(out, lambda stream: stream.write(data))
    base = args.url_base or args.out_dir.resolve().as_uri()
    weights = f"{base.rstrip('/')}/{out.name}"
    if dropped:
        print(f'Left out: {", ".join(dropped)}', file=sys.stderr)
    print(f'Wrote {out} (SHA-256 {sha256}). Metafile entry:', file=sys.stderr)
    entry = metafile_entry(args.name, weights, sha256, args.model_index)
    print(yaml.safe_dump([entry], sort_keys=False, allow_unicode=True),
          end='')
    return 0


if __name__ == '__main__':
    sys.exit(main())
