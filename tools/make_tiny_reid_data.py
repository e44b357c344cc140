"""Write a tiny Market-1501 in the real on-disk layout (for trying the tools).

    python tools/make_tiny_reid_data.py --out reid-tiny
    python tools/make_tiny_reid_data.py --out reid-harder --train-ids 40 \
        --test-ids 40 --jitter 60

Creates ``OUT/market1501/Market-1501-v15.09.15/{bounding_box_train, query,
bounding_box_test}`` with Market-1501 file names: 6 training identities seen
by 4 cameras (24 images), 4 test identities with 8 queries (cameras 1-2) and
12 gallery images (cameras 1-3), plus two background (identity 0) and one
junk (identity -1) gallery image. A "person" is 64 x 32 pixels: an identity's
shirt and trouser colours plus noise. The test suite reads the same data.

``--train-ids / --test-ids`` give more identities (numbered 1, 2, ...
after the default ones are replaced) and ``--jitter S`` shifts the colours
of every image by a random offset of standard deviation S (a lighting
change), which makes identities harder to tell apart.
"""
import argparse
import os
import os.path as osp
import sys

import numpy as np
from PIL import Image

RELEASE = osp.join('market1501', 'Market-1501-v15.09.15')
TRAIN_PIDS = (2, 7, 10, 11, 12, 20)
TEST_PIDS = (1, 3, 5, 8)
HEIGHT, WIDTH = 64, 32


def person(pid: int, rng, jitter: float = 0.0) -> Image.Image:
    """A 64 x 32 'person': an identity's shirt and trouser colours + noise."""
    colours = np.random.default_rng(pid).integers(0, 256, (2, 3))
    if jitter:
        colours = colours + rng.normal(0, jitter, (1, 3))
    image = np.empty((HEIGHT, WIDTH, 3))
    image[:HEIGHT // 2], image[HEIGHT // 2:] = colours
    image += rng.normal(0, 20, image.shape)
    return Image.fromarray(np.clip(image, 0, 255).astype(np.uint8))


def write(folder: str, pid: int, cam: int, frame: int, rng,
          jitter: float = 0.0) -> None:
    # Market-1501 names: identity, camera+sequence, frame, box index.
    # Junk images have identity -1, written without zero padding.
    identity = str(pid) if pid < 0 else f'{pid:04d}'
    name = f'{identity}_c{cam}s1_{frame:06d}_01.jpg'
    person(max(pid, 0), rng, jitter).save(osp.join(folder, name),
                                          quality=95)


def make_tiny_market(root, train_pids=TRAIN_PIDS, test_pids=TEST_PIDS,
                     jitter: float = 0.0) -> str:
    """Write the tiny dataset under ``root`` (which must not hold one)."""
    rng = np.random.default_rng(0)
    folders = {}
    for split in ('bounding_box_train', 'query', 'bounding_box_test'):
        folders[split] = osp.join(str(root), RELEASE, split)
        os.makedirs(folders[split])
    frame = 0
    for pid in train_pids:
        for cam in (1, 2, 3, 4):
            frame += 1
            write(folders['bounding_box_train'], pid, cam, frame, rng,
                  jitter)
    for pid in test_pids:
        for cam in (1, 2):
            frame += 1
            write(folders['query'], pid, cam, frame, rng, jitter)
        for cam in (1, 2, 3):
            frame += 1
            write(folders['bounding_box_test'], pid, cam, frame, rng,
                  jitter)
    for pid, cam in ((0, 4), (0, 5), (-1, 6)):
        frame += 1
        write(folders['bounding_box_test'], pid, cam, frame, rng, jitter)
    return str(root)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', required=True,
                        help='data root to create (use it as --root)')
    parser.add_argument('--train-ids', type=int, default=0,
                        help='number of training identities (default: 6)')
    parser.add_argument('--test-ids', type=int, default=0,
                        help='number of test identities (default: 4)')
    parser.add_argument('--jitter', type=float, default=0.0,
                        help='std of a per-image colour offset')
    args = parser.parse_args(argv)
    train_pids, test_pids = TRAIN_PIDS, TEST_PIDS
    if args.train_ids or args.test_ids:
        count = args.train_ids or len(TRAIN_PIDS)
        train_pids = tuple(range(1, count + 1))
        test_pids = tuple(range(count + 1, count + 1 +
                                (args.test_ids or len(TEST_PIDS))))
    if osp.exists(osp.join(args.out, RELEASE)):
        parser.error(f'{osp.join(args.out, RELEASE)} exists already')
    make_tiny_market(args.out, train_pids, test_pids, args.jitter)
    print(f'Wrote a tiny Market-1501 under {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
