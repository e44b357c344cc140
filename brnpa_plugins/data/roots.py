"""The one check of a dataset folder, shared by every ecosystem adapter.

A dataset is found when every path of one of its alternative layouts exists
under the root; otherwise the error names the dataset, the root, what is
missing from the most complete layout, the layout expected and the fix.
Nothing is downloaded or created.
"""
import os
from typing import List, Sequence


def missing_paths(root: str, layouts: Sequence[Sequence[str]]) -> List[str]:
    """Paths (relative to ``root``) of the most complete layout that are
    missing; [] when one layout is complete."""
    root = os.path.expanduser(root)
    missing = [[path for path in layout
                if not os.path.exists(os.path.join(root, path))]
               for layout in layouts]
    if any(not paths for paths in missing):
        return []
    return min(missing, key=len)


def check_dataset_root(dataset: str, root: str,
                       layouts: Sequence[Sequence[str]], expected: str,
                       fix: str) -> None:
    """Raise FileNotFoundError unless one of ``layouts`` is complete.

    Args:
        dataset: the dataset's name, for the message.
        root: the folder the user gave.
        layouts: alternative groups of paths relative to ``root``.
        expected: the layout to show, one path per line.
        fix: what to do, e.g. which option points at the folder.
    """
    missing = missing_paths(root, layouts)
    if not missing:
        return
    absent = '' if os.path.isdir(os.path.expanduser(root)) else \
        'the folder does not exist; '
    raise FileNotFoundError(
        f'{dataset} data not found under {root!r}: {absent}missing '
        f'{", ".join(missing)}. Expected layout:\n{expected}\n{fix}')
