"""DAUC, IAUC, DC, IC, average drop / increase and sparsity in a config.

Perturbation metrics run the model on thousands of perturbed images, so the
metric needs the model itself, which mmengine never gives a metric. The
:class:`SaliencyMetricHook` hands it over: before each validation or test
run it gives the runner's model to every :class:`SaliencyMetric` of the
evaluator. In a config::

    test_evaluator = [
        dict(type='Accuracy', topk=(1, )),
        dict(type='SaliencyMetric', method='attention', batch_size=256),
    ]
    custom_hooks = [dict(type='SaliencyMetricHook')]

With ``method='attention'`` the maps are the ones a BR-NPA (or B-CNN) head
attaches to its predictions (no extra forward pass); any other registered
saliency method (``gradcam``, ``rise``...) is computed on the batch.
"""
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from torch import Tensor, nn

from mmpretrain.registry import HOOKS, METRICS

from ..backbones import feature_layer
from ..backbones.resnet import resnet_feature_layer
from ..core.maps import saliency_map
from ..evaluation import DEFAULT_MAX_STEPS, HIGHER_IS_BETTER, compute_saliency
from ..evaluation.benchmark import Options, score_maps
from ..evaluation.scoring import check_batch_size
from .heads import ACTIVITY_FIELD, ATTENTION_FIELD, NORM_FIELD


def saliency_context(model: nn.Module) -> Dict[str, Optional[nn.Module]]:
    """The layers saliency methods read in an mmpretrain ``ImageClassifier``,
    as keyword arguments of :func:`~brnpa_plugins.evaluation.compute_saliency`.

    ``feature_layer`` is the :class:`~brnpa_plugins.backbones.FeatureLayer`
    of the backbone, as its registered family names it
    (:func:`brnpa_plugins.backbones.feature_layer`: ``layer4`` of a ResNet,
    the final norm of a ConvNeXt, the final token norm of a ViT or Swin);
    ``attention_layer`` is the neck, if any.
    """
    backbone = getattr(model, 'backbone', None)
    found = feature_layer(backbone) if backbone is not None else None
    if found is None and getattr(backbone, 'res_layers', None):
        # ResNet-D and other ResNet variants that stride surgery refuses
        found = resnet_feature_layer(backbone)
    if found is None:
        raise ValueError(
            f'cannot find the last feature layer of '
            f'{type(backbone).__name__}: no registered backbone family '
            'recognises it (`brnpa plugins` lists them). Register one with a '
            '`feature_layer` through the `brnpa_register_backbones` hook, or '
            'pass feature_layer=FeatureLayer(...) yourself.')
    return dict(feature_layer=found,
                attention_layer=getattr(model, 'neck', None))


@METRICS.register_module()
class SaliencyMetric(BaseMetric):
    """Faithfulness of saliency maps, next to accuracy in a test run.

    Reports the mean over images of ``dauc``, ``iauc``, ``dc``, ``ic``,
    ``avg_drop``, ``avg_increase`` and ``sparsity`` (see
    :func:`brnpa_plugins.evaluation.evaluate_maps`) for the predicted class.
    Needs :class:`SaliencyMetricHook` in ``custom_hooks``.

    Args:
        method (str): A registered saliency method. Defaults to
            ``'attention'`` (the maps of a BR-NPA or B-CNN head).
        max_steps (int): Cap on deletion / insertion steps. Defaults to 196.
        batch_size (int): Most perturbed images per forward pass.
            Defaults to 64.
        blur_kernel (int, optional): Side of the insertion's box blur;
            defaults to max(H // 5, 9) made odd.
        method_options (dict, optional): Keyword arguments of the saliency
            method (e.g. ``dict(num_masks=1000)`` for ``rise``).
        collect_device (str): Where results are gathered. Defaults to 'cpu'.
        prefix (str, optional): Prefix of the keys. Defaults to 'saliency'.
    """
    default_prefix = 'saliency'

    def __init__(self,
                 method: str = 'attention',
                 max_steps: int = DEFAULT_MAX_STEPS,
                 batch_size: int = 64,
                 blur_kernel: Optional[int] = None,
                 method_options: Optional[dict] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        from ..evaluation.methods import get_saliency_method
        from ..plugins import UnknownNameError
        try:
            get_saliency_method(method)
        except UnknownNameError as error:
            raise ValueError(f'SaliencyMetric: {error}') from None
        if not isinstance(max_steps, int) or max_steps < 1:
            raise ValueError('SaliencyMetric: max_steps must be an integer '
                             f'>= 1, got {max_steps!r}')
        check_batch_size(batch_size)
        self.method = method
        self.max_steps = max_steps
        self.batch_size = batch_size
        self.blur_kernel = blur_kernel
        self.method_options = dict(method_options or {})
        self.model: Optional[nn.Module] = None

    def attach_model(self, model: nn.Module) -> None:
        """Use ``model`` (unwrapped from DDP-like wrappers) to score images."""
        self.model = model.module if is_model_wrapper(model) else model

    def _saliency(self, images: Tensor, targets: Tensor,
                  data_samples: Sequence[dict]) -> Tensor:
        if self.method == 'attention' and all(
                ATTENTION_FIELD in s for s in data_samples):
            attention = torch.stack([s[ATTENTION_FIELD] for s in data_samples])
            activity = torch.stack([s[ACTIVITY_FIELD] for s in data_samples])
            norm = torch.stack([s[NORM_FIELD] for s in data_samples])
            return saliency_map(attention.float(), norm.float(),
                                activity.float()).to(images.device)
        return compute_saliency(self.method, self.model, images, targets,
                                **saliency_context(self.model),
                                **self.method_options)

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        if self.model is None:
            raise RuntimeError(
                'SaliencyMetric has no model to score perturbed images: add '
                "dict(type='SaliencyMetricHook') to the config's "
                'custom_hooks.')
        images = self.model.data_preprocessor(data_batch, False)['inputs']
        targets = torch.cat([s['pred_label'] for s in data_samples]).cpu()
        saliency = self._saliency(images, targets, data_samples)
        scores, _ = score_maps(
            self.model, images, saliency, targets,
            Options(self.max_steps, self.batch_size, self.blur_kernel))
        for index in range(len(images)):
            self.results.append(
                {name: float(values[index]) for name, values in scores.items()})

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        metrics = {}
        for name in HIGHER_IS_BETTER:
            values = np.array([result[name] for result in results])
            finite = values[np.isfinite(values)]
            metrics[name] = float(finite.mean()) if len(finite) else float(
                'nan')
        return metrics


@HOOKS.register_module()
class SaliencyMetricHook(Hook):
    """Give the runner's model to the :class:`SaliencyMetric` evaluators."""
    priority = 'LOW'

    @staticmethod
    def _attach(runner, evaluator) -> None:
        for metric in evaluator.metrics:
            if isinstance(metric, SaliencyMetric):
                metric.attach_model(runner.model)

    def before_val(self, runner) -> None:
        self._attach(runner, runner.val_evaluator)

    def before_test(self, runner) -> None:
        self._attach(runner, runner.test_evaluator)
