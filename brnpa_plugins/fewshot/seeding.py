"""Seeds of the episodes: each one drawn with its own, the caller's random
state left as it was."""
import contextlib
import random
from typing import Iterator

import torch

#: Seeds of episode ``i`` are ``seed * SEED_STRIDE + i``: the episodes of
#: two seeds never overlap for fewer than SEED_STRIDE episodes.
SEED_STRIDE = 2**32


def episode_seed(seed: int, index: int) -> int:
    """The seed of episode ``index`` of a dataset seeded with ``seed``."""
    return int(seed) * SEED_STRIDE + int(index)


@contextlib.contextmanager
def python_random_seed(seed: int) -> Iterator[None]:
    """Seed Python's ``random`` (learn2learn samples with it) for a block.

    The previous state comes back afterwards, so that evaluating on a fixed
    set of episodes does not change the training episodes that follow.
    """
    state = random.getstate()
    random.seed(seed)
    try:
        yield
    finally:
        random.setstate(state)


@contextlib.contextmanager
def seeded_episode(seed: int) -> Iterator[None]:
    """Seed Python's ``random`` (learn2learn's sampling) and torch's CPU
    generator (augmentation) for one episode; both states come back after."""
    with python_random_seed(seed), torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed % 2**63)
        yield
