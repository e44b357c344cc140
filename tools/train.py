"""Train a model: mmpretrain's tools/train.py, with BR-NPA registered.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]
        [--auto-scale-lr] [--cfg-options KEY=VALUE ...] [--launcher ...]
"""
from brnpa_plugins.openmmlab.tools import run_mmpretrain_tool

if __name__ == '__main__':
    run_mmpretrain_tool('train')
