"""The two-tone rim: every object is rimmed, and the rim's order marks a part.

In the ``'two-tone-rim'`` variant of the generated benchmark every object,
decisive part and distractor alike, wears a rim of the same two tones (a
light one and a dark one, :data:`TONES`), each covering half of the rim. What
marks a decisive part is the *pair* of tones in order: light on the left half
of its rim and dark on the right (:data:`DECISIVE_PAIR`); a distractor wears
the same pair the other way round. Every object of a shape therefore holds
exactly as many pixels of each tone as every other object of that shape, so
no object is brighter, darker or more contrasted than another: a white-pixel
or edge detector finds every object alike, and only the order of the tones
tells the roles apart.
"""
from typing import Tuple

import numpy as np

#: The rim palette; every rim shows both tones.
TONES = {'light': (255, 255, 255), 'dark': (0, 0, 0)}
#: (left half, right half) of a decisive part's rim; distractors reverse it.
DECISIVE_PAIR = ('light', 'dark')


def rim_halves(ring: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """The left and the right half of a rim, as two boolean masks.

    Rim pixels are ordered by column, then by row, and the first
    ``n // 2`` form the left half, the last ``n // 2`` the right one; an
    odd rim leaves its middle pixel in neither (it gets the mean tone), so
    both halves always hold the same number of pixels.
    """
    rows, cols = np.nonzero(ring)
    order = np.lexsort((rows, cols))
    half = len(order) // 2
    left, right = np.zeros_like(ring), np.zeros_like(ring)
    left[rows[order[:half]], cols[order[:half]]] = True
    right[rows[order[len(order) - half:]], cols[order[len(order) - half:]]] \
        = True
    return left, right


def paint_two_tone_rim(box: np.ndarray, ring: np.ndarray,
                       decisive: bool) -> None:
    """Paint ``ring`` (a mask over the float pixels ``box``) in two tones:
    the decisive pair for a decisive part, the reversed pair otherwise."""
    first, second = DECISIVE_PAIR if decisive else DECISIVE_PAIR[::-1]
    left, right = rim_halves(ring)
    box[ring] = np.mean([TONES[first], TONES[second]], axis=0)
    box[left] = TONES[first]
    box[right] = TONES[second]
