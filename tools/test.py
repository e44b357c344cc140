"""Test a checkpoint: mmpretrain's tools/test.py, with BR-NPA registered.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out FILE]
        [--cfg-options KEY=VALUE ...] [--launcher ...]

With ``--out results.pkl`` every prediction carries ``attention_maps``,
``part_activity`` and ``feature_norm``.
"""
from brnpa_plugins.core.noise import quiet_known_noise

if __name__ == '__main__':
    quiet_known_noise()  # before the libraries that print it are imported
    from brnpa_plugins.openmmlab.tools import run_mmpretrain_tool
    run_mmpretrain_tool('test')
