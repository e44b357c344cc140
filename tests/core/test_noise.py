"""The known third-party noise is hidden; nothing else is."""
import sys
import warnings

import pytest

from brnpa_plugins.core import noise
from brnpa_plugins.core.noise import KNOWN_NOISE, quiet_known_noise


def shown(message, module):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        quiet_known_noise()
        warnings.warn_explicit(message, UserWarning, f'{module}.py', 1,
                               module=module)
    return [str(w.message) for w in caught]


@pytest.mark.parametrize('entry', noise.noise_of('warning'))
def test_a_known_warning_is_hidden(entry):
    module = {'.*': 'mmengine.utils.package_utils'}.get(
        entry.source, entry.source.replace('\\', ''))
    message = entry.message.replace('\\', '') + ' (and the rest)'
    assert shown(message, module) == []


def test_the_projects_warnings_and_the_same_text_elsewhere_are_shown():
    assert shown('the 4 training episodes repeat', 'brnpa_plugins.fewshot')
    # mmcv's message, warned by another module: not the known noise
    assert shown('Fail to import ``MultiScaleDeformableAttention``',
                 'brnpa_plugins.openmmlab')


def test_a_module_printing_on_import_keeps_what_is_not_known(
        tmp_path, monkeypatch, capsys):
    (tmp_path / 'noisy_notice.py').write_text(
        "import sys\nprint('Gym has been unmaintained since 2022', "
        'file=sys.stderr)\n')
    (tmp_path / 'other_notice.py').write_text(
        "import sys\nprint('something else', file=sys.stderr)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    quiet_known_noise(printed_on_import=('noisy_notice', 'other_notice',
                                         'not_installed_module'))
    assert capsys.readouterr().err == 'something else\n'
    assert 'noisy_notice' in sys.modules


def test_every_entry_says_why():
    assert {entry.kind for entry in KNOWN_NOISE} == {'warning', 'log',
                                                     'print'}
    assert all(entry.why for entry in KNOWN_NOISE)
