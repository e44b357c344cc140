"""BR-NPA for torchreid (deep-person-reid).

One line makes the BR-NPA models part of torchreid's model factory::

    import brnpa_plugins.reid  # registers brnpa_resnet50, brnpa_resnet50_hr...
    import torchreid

    model = torchreid.models.build_model(
        'brnpa_resnet50', num_classes=751, loss='softmax', pretrained=True)

Everything else of the torchreid workflow stays as it is. This package adds
drop-in engines (:class:`ImageSoftmaxEngine`, :class:`ImageTripletEngine`,
:class:`ImageDistillationEngine`) whose checkpoints load with
``torch.load(weights_only=True)`` and whose evaluation uses the vectorised
:func:`evaluate_rank`, which gives torchreid's numbers.
"""
from .checkpoint import (load_checkpoint, load_weights, resume_from_checkpoint,
                         save_checkpoint)
from .engine import (ImageDistillationEngine, ImageSoftmaxEngine,
                     ImageTripletEngine)
from .metrics import evaluate_cuhk03, evaluate_rank
from .models import BACKBONES, BRNPAReID, build_brnpa_reid, register_models

register_models()

__all__ = [
    'BACKBONES', 'BRNPAReID', 'ImageDistillationEngine', 'ImageSoftmaxEngine',
    'ImageTripletEngine', 'build_brnpa_reid', 'evaluate_cuhk03',
    'evaluate_rank',
    'load_checkpoint', 'load_weights', 'register_models',
    'resume_from_checkpoint', 'save_checkpoint'
]
