"""Generate MODEL_ZOO.md from the metafiles listed in model-index.yml.

    python tools/gen_model_zoo.py           # rewrite MODEL_ZOO.md
    python tools/gen_model_zoo.py --check   # exit 1 if it is out of date
    python tools/gen_model_zoo.py --measure [--only NAME ...]
        # first count Parameters and FLOPs of each image-classification
        # entry as mmpretrain's get_flops.py does (at the entry's Input
        # Size) and write them into its metafile
"""
import argparse
import sys
from pathlib import Path

from brnpa_plugins.core import atomic_write_text
from brnpa_plugins.zoo.markdown import render_model_zoo
from brnpa_plugins.zoo.metafile import (MetafileError, find_model_index,
                                        imported_metafiles, read_metafile,
                                        read_model_index)


def input_size(entry) -> int:
    """The entry's ``Input Size``, checked against its test pipeline."""
    from brnpa_plugins.openmmlab.complexity import pipeline_input_size
    size = entry.metadata.get('Input Size')
    if not isinstance(size, int):
        raise MetafileError(
            f'{entry.source}: model {entry.name!r} has Input Size {size!r}; '
            'set Metadata: Input Size to the square test image size (int).')
    piped = pipeline_input_size(entry.config)
    if piped is not None and piped != size:
        raise MetafileError(
            f'{entry.source}: model {entry.name!r} has Input Size {size} but '
            f'the test pipeline of {entry.config} gives {piped} px; fix one.')
    return size


def measure(index: Path, only=None) -> None:
    """Write Parameters and FLOPs of the image classifiers of ``index``."""
    from brnpa_plugins.openmmlab.complexity import measure_complexity
    from brnpa_plugins.zoo.edit import set_model_metadata
    for metafile in imported_metafiles(index):
        for entry in read_metafile(metafile, index.parent):
            if entry.task != 'Image Classification' or not (
                    entry.config or '').endswith('.py') or (
                        only and entry.name not in only):
                continue
            size = input_size(entry)
            counted = measure_complexity(entry.config, (size, size))
            set_model_metadata(metafile, entry.name, {
                'Parameters': counted['params'], 'FLOPs': counted['flops']})
            print(f"{entry.name}: {counted['params']} parameters, "
                  f"{counted['flops']} FLOPs at {size} x {size}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--model-index', type=Path, default=None,
                        help='model-index.yml (default: this project\'s)')
    parser.add_argument('--out', type=Path, default=None,
                        help='output file (default: MODEL_ZOO.md next to '
                        'model-index.yml)')
    parser.add_argument('--check', action='store_true',
                        help='do not write; exit 1 when the file differs')
    parser.add_argument('--measure', action='store_true',
                        help='first write Parameters and FLOPs, counted as '
                        "mmpretrain's get_flops.py does, into the metafiles")
    parser.add_argument('--only', nargs='+', metavar='NAME',
                        help='with --measure: only these models')
    args = parser.parse_args(argv)
    index = args.model_index or find_model_index()
    if args.measure:
        if args.check:
            parser.error('--measure writes the metafiles; it cannot be '
                         'combined with --check')
        measure(index, args.only)
    out = args.out or index.parent / 'MODEL_ZOO.md'
    text = render_model_zoo(read_model_index(index), str(out.parent))
    current = out.read_text(encoding='utf-8') if out.is_file() else None
    if args.check:
        if current != text:
            print(f'{out} is out of date: run python tools/gen_model_zoo.py',
                  file=sys.stderr)
            return 1
        return 0
    if current != text:
        atomic_write_text(out, text)
    print(out)
    return 0


if __name__ == '__main__':
    sys.exit(main())
