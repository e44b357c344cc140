"""Grad-CAM of a model: mmpretrain's tools/visualization/vis_cam.py, with
BR-NPA registered and the grad-cam patch of brnpa_plugins.openmmlab.compat.

    python tools/vis_cam.py IMAGE CONFIG CHECKPOINT [--save-path OUT.png]
        [--method GradCAM] [--target-layers NAME ...] [--target-category K]
        [--device cpu] [--cfg-options KEY=VALUE ...]
"""
from brnpa_plugins.core.noise import quiet_known_noise

if __name__ == '__main__':
    quiet_known_noise()  # before the libraries that print it are imported
    from brnpa_plugins.openmmlab.tools import run_mmpretrain_tool
    run_mmpretrain_tool('visualization/vis_cam')
