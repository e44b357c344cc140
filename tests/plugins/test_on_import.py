"""Adapters activate when their ecosystem is imported after brnpa_plugins."""
import subprocess
import sys

from brnpa_plugins.plugins.on_import import call_after_import


def run(code):
    return subprocess.run([sys.executable, '-c', code], capture_output=True,
                          text=True, check=True).stdout.split()


def test_mmpretrain_imported_later_gets_the_modules():
    out = run('import sys, brnpa_plugins\n'
              "print('brnpa_plugins.openmmlab' in sys.modules)\n"
              'from mmpretrain.registry import MODELS\n'
              "print(MODELS.get('BRNPANeck') is not None)")
    assert out == ['False', 'True']


def test_torchreid_imported_later_gets_the_models():
    out = run('import brnpa_plugins, torchreid\n'
              "print('brnpa_resnet50' in torchreid.models.__model_factory)")
    assert out == ['True']


def test_callback_runs_once_after_the_module_executes(tmp_path, monkeypatch):
    (tmp_path / 'late_ecosystem.py').write_text('VALUE = 41\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    seen = []

    def callback():
        seen.append(sys.modules['late_ecosystem'].VALUE + 1)

    call_after_import('late_ecosystem', callback)
    assert seen == []
    import late_ecosystem  # noqa: F401
    assert seen == [42]
    call_after_import('late_ecosystem', callback)  # already imported: now
    assert seen == [42, 42]
    monkeypatch.delitem(sys.modules, 'late_ecosystem')
