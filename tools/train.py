"""Train a model: mmpretrain's tools/train.py, with BR-NPA registered.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]
        [--auto-scale-lr] [--cfg-options KEY=VALUE ...] [--launcher ...]
"""
from brnpa_plugins.core.noise import quiet_known_noise

if __name__ == '__main__':
    quiet_known_noise()  # before the libraries that print it are imported
    from brnpa_plugins.openmmlab.tools import run_mmpretrain_tool
    run_mmpretrain_tool('train')
