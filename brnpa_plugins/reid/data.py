"""Check a re-ID dataset folder before torchreid touches it.

torchreid starts a download when a dataset folder is missing, which hangs or
fails obscurely without internet access. :func:`check_reid_roots` names
the expected layout instead.
"""
import glob
import os.path as osp
from typing import Dict, Iterable, NamedTuple, Tuple

from brnpa_plugins.data.roots import check_dataset_root, missing_paths


class Layout(NamedTuple):
    """Where torchreid looks for a dataset under ``data.root``.

    Attributes:
        folder: the dataset's folder under the root.
        release: the folder of the unpacked release inside it (torchreid
            also accepts the split folders directly in ``folder``).
        splits: image folders of the train, query and gallery splits.
        example: a file name in the dataset's naming scheme.
    """
    folder: str
    release: str
    splits: Tuple[str, ...]
    example: str


#: The datasets whose layout is checked; others are left to torchreid.
LAYOUTS: Dict[str, Layout] = {
    'market1501':
    Layout('market1501', 'Market-1501-v15.09.15',
           ('bounding_box_train', 'query', 'bounding_box_test'),
           '0001_c1s1_000151_01.jpg'),
}


def describe_layout(root: str, name: str) -> str:
    """The expected folder tree of a dataset, one path per line."""
    layout = LAYOUTS[name]
    base = osp.join(root, layout.folder, layout.release)
    return '\n'.join(f'  {osp.join(base, split, layout.example)}'
                     for split in layout.splits)


def check_reid_roots(root: str, names: Iterable[str]) -> None:
    """Raise FileNotFoundError naming the expected layout if a known
    dataset is missing or has an empty split under ``root``.

    Args:
        root: torchreid's ``data.root`` (the folder holding ``market1501``).
        names: dataset names (torchreid's ``sources`` and ``targets``).
    """
    root = osp.abspath(osp.expanduser(root))
    for name in dict.fromkeys(names):
        if name not in LAYOUTS:
            continue
        layout = LAYOUTS[name]
        # torchreid reads <folder>/<release>/<split> or <folder>/<split>
        bases = (osp.join(layout.folder, layout.release), layout.folder)
        layouts = [[osp.join(base, split) for split in layout.splits]
                   for base in bases]
        check_dataset_root(
            name, root, layouts,
            f'(images named like {layout.example})\n'
            f'{describe_layout(root, name)}',
            'Unpack the dataset there, or point --root / data.root at the '
            f'folder that contains "{layout.folder}".')
        found = next(osp.join(root, base) for base, paths in
                     zip(bases, layouts) if not missing_paths(root, [paths]))
        for split in layout.splits:
            if not glob.glob(osp.join(found, split, '*.jpg')):
                raise FileNotFoundError(
                    f'{name}: "{osp.join(found, split)}" holds no .jpg '
                    f'image (expected names like {layout.example}).')
