"""Check re-ID dataset folders before torchreid touches them.

torchreid starts a download when a dataset folder is missing (after creating
the folder, which then stays empty), asks for a manual preparation with a
bare RuntimeError, or fails deep inside its split code.
:func:`check_reid_roots` checks the layout every image dataset of torchreid
0.2.5 reads (the ``dataset_dir`` and folders of its dataset classes) through
the project's one dataset-root check,
:func:`brnpa_plugins.data.roots.check_dataset_root`: it downloads nothing,
creates nothing and names the expected paths.
"""
import glob
import os.path as osp
from typing import Dict, Iterable, NamedTuple, Tuple

from brnpa_plugins.core.checks import check_known_names
from brnpa_plugins.data.roots import check_dataset_root, missing_paths


class Layout(NamedTuple):
    """Where torchreid looks for a dataset under ``data.root``.

    Attributes:
        folder: the dataset's folder under the root (its ``dataset_dir``).
        alternatives: the layouts torchreid accepts, each a tuple of paths
            relative to ``folder`` that must all exist.
        images: per alternative, ``(folder, glob pattern)`` pairs that must
            each match at least one image (relative to ``folder``).
        example: an image path in the dataset's naming scheme, relative to
            the first image folder of the first alternative.
    """
    folder: str
    alternatives: Tuple[Tuple[str, ...], ...]
    images: Tuple[Tuple[Tuple[str, str], ...], ...]
    example: str


def _flat(paths: Tuple[str, ...], pattern: str) -> Tuple[Tuple[str, str], ...]:
    return tuple((path, pattern) for path in paths)


def _market_like(release: str, example: str, folder: str) -> Layout:
    splits = tuple(osp.join(release, split) for split in
                   ('bounding_box_train', 'query', 'bounding_box_test'))
    return Layout(folder, (splits, ), (_flat(splits, '*.jpg'), ), example)


_MARKET = ('bounding_box_train', 'query', 'bounding_box_test')
_MSMT_LISTS = ('list_train.txt', 'list_val.txt', 'list_query.txt',
               'list_gallery.txt')


def _msmt(version: str, train: str, test: str) -> Tuple[str, ...]:
    return tuple(osp.join(version, name) for name in (train, test) +
                 _MSMT_LISTS)


_CUHK02 = tuple(osp.join('Dataset', pair, cam) for pair in
                ('P1', 'P2', 'P3', 'P4', 'P5') for cam in ('cam1', 'cam2'))
_UNIVERSITY = tuple(osp.join('University-Release', path) for path in
                    ('train', 'test/query_drone', 'test/gallery_satellite'))

#: The image datasets of ``torchreid.data.register_image_dataset`` in
#: torchreid 0.2.5, with the paths their classes read.
LAYOUTS: Dict[str, Layout] = {
    # torchreid reads <folder>/Market-1501-v15.09.15/<split> when the release
    # folder is there, else <folder>/<split>.
    'market1501': Layout(
        'market1501',
        (tuple(osp.join('Market-1501-v15.09.15', s) for s in _MARKET),
         _MARKET),
        (_flat(tuple(osp.join('Market-1501-v15.09.15', s)
                     for s in _MARKET), '*.jpg'), _flat(_MARKET, '*.jpg')),
        '0001_c1s1_000151_01.jpg'),
    'dukemtmcreid': _market_like('DukeMTMC-reID', '0001_c2_f0046182.jpg',
                                 'dukemtmc-reid'),
    'msmt17': Layout(
        'msmt17',
        (_msmt('MSMT17_V1', 'train', 'test'),
         _msmt('MSMT17_V2', 'mask_train_v2', 'mask_test_v2')),
        ((('MSMT17_V1/train', '*/*.jpg'), ('MSMT17_V1/test', '*/*.jpg')),
         (('MSMT17_V2/mask_train_v2', '*/*.jpg'),
          ('MSMT17_V2/mask_test_v2', '*/*.jpg'))),
        '0000/0000_000_01_0303morning_0015_0.jpg'),
    # torchreid extracts the images and writes its splits on first use, but
    # always needs the release .mat files.
    'cuhk03': Layout(
        'cuhk03',
        (('cuhk03_release/cuhk-03.mat',
          'cuhk03_new_protocol_config_detected.mat',
          'cuhk03_new_protocol_config_labeled.mat'), ), ((), ), ''),
    'viper': Layout('viper', (('VIPeR/cam_a', 'VIPeR/cam_b'), ),
                    (_flat(('VIPeR/cam_a', 'VIPeR/cam_b'), '*.bmp'), ),
                    '000_45.bmp'),
    'grid': Layout(
        'grid', (('underground_reid/probe', 'underground_reid/gallery',
                  'underground_reid/features_and_partitions.mat'), ),
        (_flat(('underground_reid/probe', 'underground_reid/gallery'),
               '*.jpeg'), ), '0001_1_25004_107_32_106_221.jpeg'),
    # The campus folder, or the zip torchreid extracts it from.
    'cuhk01': Layout('cuhk01', (('campus', ), ('CUHK01.zip', )),
                     ((('campus', '*.png'), ), ()), '0001001.png'),
    'ilids': Layout('ilids', (('i-LIDS_Pedestrian/Persons', ), ),
                    ((('i-LIDS_Pedestrian/Persons', '*.jpg'), ), ),
                    '0001001.jpg'),
    'sensereid': Layout(
        'sensereid', (('SenseReID/test_probe', 'SenseReID/test_gallery'), ),
        (_flat(('SenseReID/test_probe', 'SenseReID/test_gallery'),
               '*.jpg'), ), '0000_0.jpg'),
    'prid': Layout(
        'prid2011',
        (('prid_2011/single_shot/cam_a', 'prid_2011/single_shot/cam_b'), ),
        (_flat(('prid_2011/single_shot/cam_a', 'prid_2011/single_shot/cam_b'),
               '*.png'), ), 'person_0001.png'),
    'cuhk02': Layout('cuhk02', (_CUHK02, ), (_flat(_CUHK02, '*.png'), ),
                     '0001_1.png'),
    'university1652': Layout(
        'university1652', (_UNIVERSITY, ),
        (((_UNIVERSITY[0], '*/*/*'), (_UNIVERSITY[1], '*/*'),
          (_UNIVERSITY[2], '*/*')), ), 'drone/0839/image-01.jpeg'),
    'cuhksysu': Layout('cuhksysu', (('cropped_images', ), ),
                       ((('cropped_images', '*.jpg'), ), ),
                       'p11422_s16929_1.jpg'),
}

#: torchreid's video datasets: the BR-NPA entry points train on images.
VIDEO_DATASETS = ('mars', 'ilidsvid', 'prid2011', 'dukemtmcvidreid')


def describe_layout(root: str, name: str) -> str:
    """The expected folder tree of a dataset, one path per line (the first
    accepted layout, image folders with an example file name)."""
    layout = LAYOUTS[name]
    base = osp.join(root, layout.folder)
    image_folders = {folder for folder, _ in layout.images[0]}
    lines = []
    for path in layout.alternatives[0]:
        shown = osp.join(base, path)
        if path in image_folders and layout.example:
            shown = osp.join(shown, layout.example)
        lines.append(f'  {shown}')
    for other in layout.alternatives[1:]:
        lines.append('  or: ' + ', '.join(osp.join(base, p) for p in other))
    return '\n'.join(lines)


def check_dataset_names(names: Iterable[str]) -> None:
    """Refuse names that are not torchreid image datasets, with the closest
    known name; video datasets are named as such."""
    names = list(names)
    video = [name for name in names if name in VIDEO_DATASETS]
    if video:
        raise ValueError(
            f'data.sources / data.targets: {video} are torchreid video '
            'datasets; tools/train_reid.py trains image models (data.type '
            f'image): choose among {sorted(LAYOUTS)}.')
    check_known_names(names, LAYOUTS, 'data.sources / data.targets (-s/-t)',
                      kind='dataset')


def check_reid_roots(root: str, names: Iterable[str],
                     market1501_500k: bool = False) -> None:
    """Raise FileNotFoundError naming the expected layout if a dataset is
    missing, incomplete or has an empty image folder under ``root``.

    Nothing is created or downloaded.

    Args:
        root: torchreid's ``data.root`` (the folder holding ``market1501``).
        names: dataset names (torchreid's ``sources`` and ``targets``).
        market1501_500k: Market-1501 with its 500k distractors
            (``market1501.use_500k_distractors``): also needs the
            ``images`` folder of the release.

    Raises:
        UnknownKeyError: (a KeyError and ValueError) for a name that is not
            a torchreid image dataset; ValueError for a video dataset.
    """
    names = list(dict.fromkeys(names))
    check_dataset_names(names)
    root = osp.abspath(osp.expanduser(root))
    for name in names:
        layout = LAYOUTS[name]
        layouts = [[osp.join(layout.folder, path) for path in paths]
                   for paths in layout.alternatives]
        example = f'(images named like {layout.example})\n' \
            if layout.example else ''
        check_dataset_root(
            name, root, layouts, example + describe_layout(root, name),
            'Unpack the dataset there, or point --root / data.root at the '
            f'folder that contains "{layout.folder}".')
        found = next(index for index, paths in enumerate(layouts)
                     if not missing_paths(root, [paths]))
        images = list(layout.images[found])
        if name == 'market1501' and market1501_500k:
            release = osp.dirname(layout.alternatives[found][0])
            images.append((osp.join(release, 'images'), '*.jpg'))
        for folder, pattern in images:
            path = osp.join(root, layout.folder, folder)
            if not glob.glob(osp.join(path, pattern)):
                raise FileNotFoundError(
                    f'{name}: "{path}" holds no image matching {pattern!r} '
                    f'(expected names like {layout.example}).')
