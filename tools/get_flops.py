"""Parameters and FLOPs of a model: mmpretrain's
tools/analysis_tools/get_flops.py, with BR-NPA registered.

    python tools/get_flops.py CONFIG [--shape SIZE | --shape H W]
"""
from brnpa_plugins.core.noise import quiet_known_noise

if __name__ == '__main__':
    quiet_known_noise()  # before the libraries that print it are imported
    from brnpa_plugins.openmmlab.tools import run_mmpretrain_tool
    run_mmpretrain_tool('analysis_tools/get_flops')
