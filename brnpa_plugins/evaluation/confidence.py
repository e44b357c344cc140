"""Average drop and increase in confidence (Grad-CAM++ style).

The image is multiplied by its explanation map (min-max normalised and
bilinearly upsampled to the image), so that what the map deems unimportant
goes to 0 in the normalised input space, and the explained class is scored
again. Per image, with Y the probability on the image and O on the masked one:
average drop = max(0, Y - O) / Y (lower is better) and increase in
confidence = 1 if O > Y else 0 (higher is better).
"""
from typing import NamedTuple, Optional

from torch import Tensor, nn

from ..core.maps import min_max_normalize, upsample
from .perturbation import check_images_and_maps
from .scoring import class_probabilities, resolve_targets


class ConfidenceChange(NamedTuple):
    """Per-image results of :func:`confidence_change` (Tensor[B] each)."""
    drop: Tensor
    increase: Tensor


def confidence_change(model: nn.Module,
                      images: Tensor,
                      saliency: Tensor,
                      target: Optional[Tensor] = None,
                      batch_size: int = 64) -> ConfidenceChange:
    """Average drop and increase in confidence of each image.

    Args:
        model: maps normalised B x C x H x W images to B x K logits.
        images: B x C x H x W images in the model's input space.
        saliency: B x h x w maps; h, w must divide H, W.
        target: B classes to explain; None explains the predicted class.
        batch_size: most images per forward pass.

    Returns:
        :class:`ConfidenceChange` of CPU tensors: ``drop`` in [0, 1] and
        ``increase`` in {0, 1}, per image; average them over a data set.
    """
    check_images_and_maps(images, saliency)
    target, original = resolve_targets(model, images, target, batch_size)
    masks = upsample(min_max_normalize(saliency.to(images.device)),
                     images.shape[-2:]).unsqueeze(1).to(images.dtype)

    def build(index: Tensor) -> Tensor:
        index = index.to(images.device)
        return images[index] * masks[index]

    masked = class_probabilities(model, build, len(images), target,
                                 batch_size)
    drop = (original - masked).clamp_min(0) / original
    return ConfidenceChange(drop, (masked > original).float())
