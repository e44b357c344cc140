from pathlib import Path

import pytest

from brnpa_plugins.plugins import DISABLE_AUTOLOAD_ENV, reset_plugins

#: The example plugin's package and its dist-info (its entry point).
EXAMPLE_DIR = Path(__file__).resolve().parents[1] / 'plugin_example'


@pytest.fixture(autouse=True)
def fresh_plugins(monkeypatch):
    """Each test starts from unloaded plugins and leaves none behind."""
    monkeypatch.delenv(DISABLE_AUTOLOAD_ENV, raising=False)
    reset_plugins()
    yield
    reset_plugins()


@pytest.fixture
def example_plugin(monkeypatch):
    """The example plugin, found through the entry-point group."""
    monkeypatch.syspath_prepend(str(EXAMPLE_DIR))
    return EXAMPLE_DIR
