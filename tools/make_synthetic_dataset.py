"""Generate the embedded fine-grained dataset in the CUB-200-2011 layout.

    python tools/make_synthetic_dataset.py data/synthetic_parts [--seed 0]
        [--variant two-tone-rim] [--distractor-colours complete]
        [--shortcut marker] [--shortcut-test removed] ...
"""
import argparse
from dataclasses import fields

from brnpa_plugins.data import SyntheticPartsConfig, generate_part_dataset
from brnpa_plugins.data.synthetic import OPTION_CHOICES


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('root', help='destination folder')
    for field in fields(SyntheticPartsConfig):
        parser.add_argument(f'--{field.name.replace("_", "-")}',
                            type=type(field.default), default=field.default,
                            choices=OPTION_CHOICES.get(field.name),
                            help=f'default: {field.default}')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace a folder generated with other options')
    return parser, parser.parse_args()


def main():
    parser, args = parse_args()
    config = SyntheticPartsConfig(
        **{f.name: getattr(args, f.name) for f in fields(SyntheticPartsConfig)})
    try:
        root = generate_part_dataset(args.root, config, args.overwrite)
    except (ValueError, FileExistsError) as error:
        parser.error(str(error))
    print(f'dataset ready in {root}')


if __name__ == '__main__':
    main()
