"""BR-NPA for OpenMMLab's mmpretrain.

Importing this package registers, in mmpretrain's registries: the
``BRNPANeck`` and ``BRNPAHead`` (and the ``BCNNNeck`` baseline), the
``BRNPADistiller`` classifier, the ``HighResolutionBackbone`` builder, the
``Checked*`` fine-grained datasets, the
``RankedMapsHook`` / ``GradientCheckpointingHook`` / ``SaliencyMetricHook``
hooks and the ``SaliencyMetric``. It also verifies downloaded checkpoints
and makes the model-zoo names known to ``mmpretrain.get_model``, and applies
the patches of :mod:`.compat` that mmengine needs on this machine (runner
checkpoints that load with ``weights_only=True``, ``--amp`` and
``--launcher pytorch`` on CPUs; ``BRNPA_COMPAT_DISABLE`` turns them off).

In a config file:

    custom_imports = dict(imports=['brnpa_plugins.openmmlab'],
                          allow_failed_imports=False)
"""
from .apis import BRNPAInferencer, explain_images
from .bcnn import BCNNNeck
from .compat import apply_patches, patch_status
from .cpu import AmpOptimWrapper
from .datasets import CheckedCUB, CheckedFGVCAircraft, CheckedStanfordCars
from .distiller import BRNPADistiller
from .heads import (ACTIVITY_FIELD, ATTENTION_FIELD, CONTRIBUTIONS_FIELD,
                    NORM_FIELD, BRNPAHead)
from .highres import (build_backbone_without_final_norm,
                      build_high_resolution_backbone)
from .hooks import GradientCheckpointingHook, RankedMapsHook
from .model_index import register_model_index
from .necks import BRNPANeck, BRNPANeckOutput
from .remote_checkpoints import register_checkpoint_loaders
from .saliency_metric import (SaliencyMetric, SaliencyMetricHook,
                              saliency_context)

apply_patches()
register_checkpoint_loaders()
if not patch_status()['lazy_model_index'].startswith('applied'):
    register_model_index()  # else when mmpretrain's ModelHub is first asked

__all__ = [
    'ACTIVITY_FIELD', 'ATTENTION_FIELD', 'CONTRIBUTIONS_FIELD', 'NORM_FIELD',
    'AmpOptimWrapper',
    'BRNPAInferencer', 'explain_images',
    'BCNNNeck', 'BRNPADistiller', 'BRNPAHead', 'BRNPANeck', 'BRNPANeckOutput',
    'CheckedCUB', 'CheckedFGVCAircraft', 'CheckedStanfordCars',
    'GradientCheckpointingHook', 'RankedMapsHook', 'SaliencyMetric',
    'SaliencyMetricHook', 'apply_patches',
    'build_backbone_without_final_norm', 'build_high_resolution_backbone',
    'patch_status', 'saliency_context'
]
