"""Post-hoc explanations of a plain CNN through the ``grad-cam`` package.

Grad-CAM, Grad-CAM++, Score-CAM and Ablation-CAM read the output of the
model's ``feature_layer`` (the last convolutional stage; for a transformer
its tokens, arranged on their grid by
:meth:`~brnpa_plugins.backbones.FeatureLayer.feature_map`) and return maps
at the image's resolution, min-max normalised, as the package computes
them.
"""
import functools
from typing import Callable

import torch
from torch import Tensor, nn


#: Method name -> class name in ``pytorch_grad_cam``.
CAM_CLASSES = {
    'gradcam': 'GradCAM',
    'gradcam++': 'GradCAMPlusPlus',
    'scorecam': 'ScoreCAM',
    'ablationcam': 'AblationCAM',
}


def _import_cam(class_name: str):
    try:
        import pytorch_grad_cam
        from pytorch_grad_cam.utils.model_targets import \
            ClassifierOutputTarget
    except ImportError as error:
        raise ImportError(
            f'{class_name} needs the grad-cam package: '
            '`pip install "brnpa-plugins[eval]"` (grad-cam==1.5.7).'
        ) from error
    return getattr(pytorch_grad_cam, class_name), ClassifierOutputTarget


def cam_method(name: str) -> Callable[..., Tensor]:
    """The saliency method that runs ``pytorch_grad_cam``'s ``name`` CAM.

    The returned function has the saliency-method signature
    ``(model, images, targets, feature_layer, batch_size=64,
    images_per_call=8)``:
    ``batch_size`` bounds the forward passes of Score-CAM and Ablation-CAM,
    ``images_per_call`` how many images one call of the package gets (Score-
    CAM holds channels x images masked copies in memory).
    """
    if name not in CAM_CLASSES:
        raise ValueError(f'unknown CAM {name!r}; known: {sorted(CAM_CLASSES)}')
    class_name = CAM_CLASSES[name]

    def explain(model: nn.Module, images: Tensor, targets: Tensor,
                feature_layer=None, batch_size: int = 64,
                images_per_call: int = 8) -> Tensor:
        cam_class, output_target = _import_cam(class_name)
        if feature_layer is None:
            raise ValueError(f'{name} needs the feature_layer of the model '
                             '(its last convolutional stage) to read.')
        kwargs = {'batch_size': batch_size} if name == 'ablationcam' else {}
        if feature_layer.extra_tokens is not None:
            kwargs['reshape_transform'] = functools.partial(
                feature_layer.feature_map, image_size=images.shape[-2:])
        maps = []
        # Gradients are needed even when called from a no_grad evaluation.
        with torch.enable_grad(), cam_class(
                model=model, target_layers=[feature_layer.module],
                **kwargs) as cam:
            cam.batch_size = batch_size  # Score-CAM reads it if present
            for start in range(0, len(images), images_per_call):
                chunk = slice(start, start + images_per_call)
                chosen = [output_target(int(t)) for t in targets[chunk]]
                maps.append(torch.from_numpy(
                    cam(input_tensor=images[chunk], targets=chosen)))
        return torch.cat(maps).to(images.device)

    explain.__name__ = name.replace('+', 'p')
    explain.__doc__ = (f'{class_name} of ``pytorch_grad_cam`` on '
                       '``feature_layer``: B x H x W maps in [0, 1].')
    return explain
