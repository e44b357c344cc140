"""A planted shortcut: a small class-coded marker in the image's corner.

With ``shortcut='marker'`` the generated benchmark draws, in the top-left
corner of every image, a square of :data:`MARKER_GRID` x :data:`MARKER_GRID`
cells whose white and black cells spell a code in binary (the first cell is
the lowest bit). Training images carry the code of their class, so a model
can learn the class from the marker alone, and the test images carry it,
lack it or carry another class's code (``shortcut_test``): accuracy under
the three tells whether a model uses the shortcut, and the marker's box
(``shortcuts.txt``) is where an explanation that reveals it must point.
"""
from typing import Tuple

import numpy as np

#: Cells per side of the marker.
MARKER_GRID = 3
#: Distance of the marker from the image's top and left edges, in pixels.
MARKER_INSET = 1
BIT_TONES = ((0, 0, 0), (255, 255, 255))


def marker_box(part_size: int) -> Tuple[int, int, int, int]:
    """(x0, y0, x1, y1) of the marker (x1, y1 exclusive): cells of
    ``max(2, part_size // 6)`` pixels, so the marker is about half a part."""
    side = MARKER_GRID * max(2, part_size // 6)
    return (MARKER_INSET, MARKER_INSET, MARKER_INSET + side,
            MARKER_INSET + side)


def paint_marker(image: np.ndarray, box: Tuple[int, int, int, int],
                 code: int) -> None:
    """Draw the marker of ``code`` into ``image`` (H x W x 3) at ``box``."""
    if not 0 <= code < 2**(MARKER_GRID**2):
        raise ValueError(f'a marker spells codes 0 to '
                         f'{2**(MARKER_GRID**2) - 1}, got {code}')
    x0, y0, x1, _ = box
    cell = (x1 - x0) // MARKER_GRID
    for bit in range(MARKER_GRID**2):
        row, col = divmod(bit, MARKER_GRID)
        top, left = y0 + row * cell, x0 + col * cell
        image[top:top + cell, left:left + cell] = BIT_TONES[(code >> bit) & 1]
