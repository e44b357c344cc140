"""BR-NPA for OpenMMLab's mmpretrain.

Importing this package registers ``BRNPANeck`` and ``BRNPAHead`` in
mmpretrain's ``MODELS`` registry and makes runner checkpoints load with
``torch.load(weights_only=True)``. In a config file:

    custom_imports = dict(imports=['brnpa_plugins'], allow_failed_imports=False)
"""
from .checkpoint import enable_safe_checkpoints
from .heads import ACTIVITY_FIELD, ATTENTION_FIELD, NORM_FIELD, BRNPAHead
from .model_index import register_model_index
from .necks import BRNPANeck, BRNPANeckOutput
from .remote_checkpoints import register_checkpoint_loaders

enable_safe_checkpoints()
register_checkpoint_loaders()
register_model_index()

__all__ = [
    'ACTIVITY_FIELD', 'ATTENTION_FIELD', 'NORM_FIELD', 'BRNPAHead',
    'BRNPANeck', 'BRNPANeckOutput'
]
