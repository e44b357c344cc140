"""Generate MODEL_ZOO.md from the metafiles listed in model-index.yml.

    python tools/gen_model_zoo.py           # rewrite MODEL_ZOO.md
    python tools/gen_model_zoo.py --check   # exit 1 if it is out of date
"""
import argparse
import sys
from pathlib import Path

from brnpa_plugins.core import atomic_write_text
from brnpa_plugins.zoo.markdown import render_model_zoo
from brnpa_plugins.zoo.metafile import find_model_index, read_model_index


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--model-index', type=Path, default=None,
                        help='model-index.yml (default: this project\'s)')
    parser.add_argument('--out', type=Path, default=None,
                        help='output file (default: MODEL_ZOO.md next to '
                        'model-index.yml)')
    parser.add_argument('--check', action='store_true',
                        help='do not write; exit 1 when the file differs')
    args = parser.parse_args(argv)
    index = args.model_index or find_model_index()
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
