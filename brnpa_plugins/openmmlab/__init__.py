"""BR-NPA for OpenMMLab's mmpretrain.

Importing this package registers ``BRNPANeck`` and ``BRNPAHead`` in
mmpretrain's ``MODELS`` registry and makes runner checkpoints load with
``torch.load(weights_only=True)``. In a config file:

    custom_imports = dict(imports=['brnpa_plugins'], allow_failed_imports=False)
"""
from .checkpoint import enable_safe_checkpoints
from .heads import ACTIVITY_FIELD, ATTENTION_FIELD, NORM_FIELD, BRNPAHead
from .necks import BRNPANeck, BRNPANeckOutput

enable_safe_checkpoints()

__all__ = [
    'ACTIVITY_FIELD', 'ATTENTION_FIELD', 'NORM_FIELD', 'BRNPAHead',
    'BRNPANeck', 'BRNPANeckOutput'
]
