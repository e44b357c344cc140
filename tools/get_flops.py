"""Parameters and FLOPs of a model: mmpretrain's
tools/analysis_tools/get_flops.py, with BR-NPA registered.

    python tools/get_flops.py CONFIG [--shape SIZE | --shape H W]
"""
from brnpa_plugins.openmmlab.tools import run_mmpretrain_tool

if __name__ == '__main__':
    run_mmpretrain_tool('analysis_tools/get_flops')
