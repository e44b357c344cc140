"""The BR-NPA attention core, in pure PyTorch.

Nothing here imports OpenMMLab, torchreid or learn2learn: the adapters build
on these pieces.
"""
from .contributions import class_contributions, part_contributions
from .distill import DistillationLoss, check_distillation_args, distillation_loss
from .grouping import BRNPA, BRNPAOutput
from .io import (CheckpointError, atomic_path,
                 atomic_save, atomic_write, atomic_write_json,
                 atomic_write_text, load_checkpoint_file, plain_types)
from .highres import make_high_resolution, set_stage_stride
from .maps import explanation_maps, min_max_normalize, saliency_map, upsample
from .render import (draw_outlines, heat_colormap, render_ranked_maps,
                     save_png, save_ranked_maps)

__all__ = [
    'CheckpointError', 'atomic_path', 'plain_types',
    'atomic_save', 'atomic_write', 'load_checkpoint_file',
    'atomic_write_json', 'atomic_write_text',
    'BRNPA', 'BRNPAOutput', 'DistillationLoss', 'check_distillation_args',
    'class_contributions', 'distillation_loss', 'draw_outlines',
    'explanation_maps', 'heat_colormap', 'make_high_resolution',
    'min_max_normalize', 'part_contributions', 'render_ranked_maps',
    'saliency_map', 'save_png', 'save_ranked_maps', 'set_stage_stride',
    'upsample'
]
