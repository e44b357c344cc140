from pathlib import Path

import pytest

from brnpa_plugins.zoo import DownloadError, ZooEntry
from brnpa_plugins.zoo.config import write_entry_config

CONFIG = (Path(__file__).resolve().parents[2] / 'configs' / 'brnpa' /
          'brnpa_resnet18-w16_1xb32_synthetic-parts.py')


def test_config_goes_into_the_folder_under_the_entry_name(tmp_path):
    entry = ZooEntry('tiny', 'Image Classification', 'Tiny',
                     config=str(CONFIG))
    written = write_entry_config(entry, tmp_path / 'a' / 'b')
    assert written == tmp_path / 'a' / 'b' / 'tiny.py'
    assert '_base_' not in written.read_text()


@pytest.mark.parametrize('name', ['../../escaped_name',
                                  'sub/../../escaped_name', 'absolute'])
def test_a_name_that_slipped_past_the_entry_check_writes_nothing(
        tmp_path, name):
    """The last line of defence: the written path is checked too."""
    if name == 'absolute':
        name = str(tmp_path / 'escaped_name')
    entry = ZooEntry('tiny', 'Image Classification', 'Tiny',
                     config=str(CONFIG))
    object.__setattr__(entry, 'name', name)  # as hostile code could
    with pytest.raises(DownloadError, match='outside') as error:
        write_entry_config(entry, tmp_path / 'a' / 'b')
    assert repr(name + '.py') in str(error.value)
    assert list(tmp_path.rglob('*')) == []
