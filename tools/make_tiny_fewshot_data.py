"""Write tiny few-shot data sets in learn2learn's on-disk formats.

    python tools/make_tiny_fewshot_data.py OUT_DIR [--images-per-class 15]
        [--seed 0]

Creates ``OUT_DIR/{pickle,folder,tiered,fc100,cifarfs,omniglot}``: the
mini-ImageNet pickles, an image folder, tiered-ImageNet, FC100, CIFAR-FS
(its raw archive layout) and Omniglot (grey characters), 18 classes of
coloured shapes (8 train, 5 validation, 5 test) at 32 x 32 pixels. Each is
the ``root`` of its benchmark in the configs of ``configs/fewshot/`` (see
``docs/fewshot.md``); the test suite reads the same data
(:mod:`brnpa_plugins.fewshot.tiny_data`).
"""
import argparse

from brnpa_plugins.fewshot.tiny_data import write_tiny_fewshot_data


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('out_dir', help='folder to create')
    parser.add_argument('--images-per-class', type=int, default=15,
                        help='images of each class (default: 15)')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the images (default: 0)')
    args = parser.parse_args(argv)
    try:
        roots = write_tiny_fewshot_data(args.out_dir, args.images_per_class,
                                        args.seed)
    except (ValueError, FileExistsError) as error:
        parser.error(str(error))
    for name, root in roots.items():
        print(f'{name}: {root}')


if __name__ == '__main__':
    main()
