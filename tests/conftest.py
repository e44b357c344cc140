import os

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope='session')
def repo_root():
    return REPO


def pytest_configure(config):
    # Two test workers share two cores: one thread each avoids
    # oversubscription (`make test` also sets OMP_NUM_THREADS=1).
    import torch
    torch.set_num_threads(1)
