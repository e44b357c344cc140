"""The two-tone rim: every object is rimmed, and the rim's order marks a part.

In the ``'two-tone-rim'`` variant of the generated benchmark every object,
decisive part and distractor alike, wears a rim of the same two tones (a
light one and a dark one, :data:`TONES`), each covering half of the rim. What
marks a decisive part is the *pair* of tones in order: light on the top half
of its rim and dark on the bottom one (:data:`DECISIVE_PAIR`); a distractor
wears the same pair the other way round. (Top and bottom, not left and
right, so that the horizontal flips of training pipelines keep the roles.)
Every object of a shape therefore holds exactly as many pixels of each
tone as every other object of that shape, so
no object is brighter, darker or more contrasted than another: a white-pixel
or edge detector finds every object alike, and only the order of the tones
tells the roles apart.
"""
from typing import Tuple

import numpy as np

#: The rim palette; every rim shows both tones.
TONES = {'light': (255, 255, 255), 'dark': (0, 0, 0)}
#: (top half, bottom half) of a decisive part's rim; distractors reverse it.
DECISIVE_PAIR = ('light', 'dark')


def rim_halves(ring: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """The top and the bottom half of a rim, as two boolean masks.

    Rim pixels are ordered by row, then by column, and the first ``n // 2``
    form the top half, the last ``n // 2`` the bottom one; an odd rim leaves
    its middle pixel in neither (it gets the mean tone), so both halves
    always hold the same number of pixels.
    """
    rows, cols = np.nonzero(ring)
    order = np.lexsort((cols, rows))
    half = len(order) // 2
    top, bottom = np.zeros_like(ring), np.zeros_like(ring)
    top[rows[order[:half]], cols[order[:half]]] = True
    bottom[rows[order[len(order) - half:]],
           cols[order[len(order) - half:]]] = True
    return top, bottom


def paint_two_tone_rim(box: np.ndarray, ring: np.ndarray,
                       decisive: bool) -> None:
    """Paint ``ring`` (a mask over the float pixels ``box``) in two tones:
    the decisive pair for a decisive part, the reversed pair otherwise."""
    first, second = DECISIVE_PAIR if decisive else DECISIVE_PAIR[::-1]
    top, bottom = rim_halves(ring)
    box[ring] = np.mean([TONES[first], TONES[second]], axis=0)
    box[top] = TONES[first]
    box[bottom] = TONES[second]
