import runpy
from pathlib import Path

from brnpa_plugins.zoo import ZooEntry, read_model_index
from brnpa_plugins.zoo.markdown import render_model_zoo

REPO = Path(__file__).resolve().parents[2]
TOOL = runpy.run_path(str(REPO / 'tools' / 'gen_model_zoo.py'))


def test_model_zoo_md_is_in_sync_with_the_metafiles():
    expected = render_model_zoo(read_model_index(), str(REPO))
    assert (REPO / 'MODEL_ZOO.md').read_text() == expected, \
        'MODEL_ZOO.md is out of date: run python tools/gen_model_zoo.py'
    assert TOOL['main'](['--check']) == 0


def test_check_fails_on_a_stale_file(tmp_path, capsys):
    out = tmp_path / 'MODEL_ZOO.md'
    out.write_text('stale\n')
    assert TOOL['main'](['--check', '--out', str(out)]) == 1
    assert 'out of date' in capsys.readouterr().err
    assert TOOL['main'](['--out', str(out)]) == 0
    assert TOOL['main'](['--check', '--out', str(out)]) == 0


def test_tables_show_metrics_and_downloads(tmp_path):
    published = ZooEntry('m-abababab', 'Image Classification', 'CUB',
                         metrics={'Top 1 Accuracy': 12.5},
                         config=str(tmp_path / 'configs' / 'm.py'),
                         weights='https://x/m-abababab.pth', sha256='ab' * 32)
    pending = ZooEntry('n', 'Image Classification', 'CUB',
                       metrics={'Top 1 Accuracy': None})
    text = render_model_zoo([published, pending], str(tmp_path))
    assert ('| m-abababab | CUB | 12.5 | [config](configs/m.py) | '
            '[model](https://x/m-abababab.pth) |') in text
    assert '| n | CUB | - | - | not trained yet |' in text
    assert '1 of 2 checkpoints published.' in text
