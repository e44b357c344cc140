"""BR-NPA for OpenMMLab's mmpretrain.

Importing this package registers, in mmpretrain's registries: the
``BRNPANeck`` and ``BRNPAHead`` (and the ``BCNNNeck`` baseline), the
``BRNPADistiller`` classifier, the ``Checked*`` fine-grained datasets, the
``RankedMapsHook`` / ``GradientCheckpointingHook`` / ``SaliencyMetricHook``
hooks and the ``SaliencyMetric``. It also makes runner checkpoints load with
``torch.load(weights_only=True)``, verifies downloaded checkpoints, makes
this project's model-zoo names known to ``mmpretrain.get_model`` and lets
``--amp`` and ``--launcher pytorch`` run on CPU-only machines.

In a config file:

    custom_imports = dict(imports=['brnpa_plugins'], allow_failed_imports=False)
"""
from .bcnn import BCNNNeck
from .checkpoint import enable_safe_checkpoints
from .cpu import AmpOptimWrapper, enable_cpu_distributed
from .datasets import CheckedCUB, CheckedFGVCAircraft, CheckedStanfordCars
from .distiller import BRNPADistiller
from .heads import ACTIVITY_FIELD, ATTENTION_FIELD, NORM_FIELD, BRNPAHead
from .hooks import GradientCheckpointingHook, RankedMapsHook
from .model_index import register_model_index
from .necks import BRNPANeck, BRNPANeckOutput
from .remote_checkpoints import register_checkpoint_loaders
from .saliency_metric import (SaliencyMetric, SaliencyMetricHook,
                              saliency_layers)

enable_safe_checkpoints()
register_checkpoint_loaders()
register_model_index()
enable_cpu_distributed()

__all__ = [
    'ACTIVITY_FIELD', 'ATTENTION_FIELD', 'NORM_FIELD', 'AmpOptimWrapper',
    'BCNNNeck', 'BRNPADistiller', 'BRNPAHead', 'BRNPANeck', 'BRNPANeckOutput',
    'CheckedCUB', 'CheckedFGVCAircraft', 'CheckedStanfordCars',
    'GradientCheckpointingHook', 'RankedMapsHook', 'SaliencyMetric',
    'SaliencyMetricHook', 'saliency_layers'
]
