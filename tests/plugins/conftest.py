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


@pytest.fixture
def write_dist_info():
    """Write an installed distribution's dist-info into a folder, as
    ``pip install`` would leave it: ``write(folder, name, version,
    {entry point: module})``; put the folder on ``sys.path`` to use it."""
    def write(folder, distribution, version, entry_points):
        dist_info = Path(folder) / (f'{distribution.replace("-", "_")}-'
                                    f'{version}.dist-info')
        dist_info.mkdir()
        (dist_info / 'METADATA').write_text(
            f'Metadata-Version: 2.1\nName: {distribution}\n'
            f'Version: {version}\n')
        (dist_info / 'entry_points.txt').write_text(
            '[brnpa_plugins]\n' + ''.join(
                f'{name} = {module}\n'
                for name, module in entry_points.items()))
    return write
