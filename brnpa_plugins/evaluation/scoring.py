"""Batched class probabilities: the one place the metrics call the model.

Perturbation metrics and RISE score thousands of generated images. They
describe the images as a function of their indices, and this module builds
and scores them in batches of at most ``batch_size``, so every forward pass
is as large as allowed and no Python loop runs per image or per step.
"""
from typing import Callable, Optional

import torch
from torch import Tensor, nn

from ..core.checks import check_positive_int

#: Builds the inputs with the given indices: LongTensor[n] -> n x C x H x W.
InputBuilder = Callable[[Tensor], Tensor]


def check_batch_size(batch_size: int) -> None:
    """Raise a ValueError naming ``batch_size`` unless it is an int >= 1."""
    check_positive_int(batch_size, 'batch_size',
                       hint='it bounds how many images go through the model '
                       'at once.')


def _logits(model: nn.Module, inputs: Tensor) -> Tensor:
    logits = model(inputs)
    if not isinstance(logits, Tensor) or logits.dim() != 2 \
            or logits.shape[0] != inputs.shape[0]:
        shape = tuple(getattr(logits, 'shape', ()))
        raise ValueError(
            f'the model must map B x C x H x W images to B x K logits; for '
            f'{inputs.shape[0]} images it returned {type(logits).__name__} '
            f'of shape {shape}. Wrap it so that it returns the logits.')
    return logits.float()


@torch.no_grad()
def class_probabilities(model: nn.Module,
                        build_inputs: InputBuilder,
                        num_inputs: int,
                        targets: Optional[Tensor] = None,
                        batch_size: int = 64) -> Tensor:
    """Softmax probabilities of generated inputs, in batches.

    Args:
        model: maps B x C x H x W images to B x K logits.
        build_inputs: returns the inputs with the given indices (a LongTensor
            on the device the inputs live on).
        num_inputs: how many inputs there are (indices 0 .. num_inputs - 1).
        targets: LongTensor[num_inputs], the class whose probability is kept
            for each input; None keeps all K.
        batch_size: most inputs per forward pass.

    Returns:
        Tensor[num_inputs] (the target's probability), or num_inputs x K.
    """
    check_batch_size(batch_size)
    results = []
    for start in range(0, num_inputs, batch_size):
        index = torch.arange(start, min(start + batch_size, num_inputs))
        inputs = build_inputs(index)
        probabilities = _logits(model, inputs).softmax(dim=1)
        if targets is not None:
            chosen = targets[index].to(probabilities.device)
            probabilities = probabilities.gather(1, chosen[:, None])[:, 0]
        results.append(probabilities.cpu())
    if not results:
        return torch.empty((0, ) if targets is not None else (0, 0))
    return torch.cat(results)


def predict(model: nn.Module, images: Tensor, batch_size: int = 64) -> Tensor:
    """Softmax probabilities of ``images`` (B x K, on the CPU)."""
    return class_probabilities(model, lambda index: images[index.to(
        images.device)], len(images), batch_size=batch_size)


def resolve_targets(model: nn.Module,
                    images: Tensor,
                    target: Optional[Tensor],
                    batch_size: int = 64):
    """The class to score for each image and its unperturbed probability.

    Args:
        model: maps images to logits.
        images: B x C x H x W.
        target: B class indices, or None for the class predicted on
            ``images``.
        batch_size: most images per forward pass.

    Returns:
        (LongTensor[B] targets, Tensor[B] their probabilities), on the CPU.
    """
    probabilities = predict(model, images, batch_size)
    num_classes = probabilities.shape[1]
    if target is None:
        target = probabilities.argmax(dim=1)
    else:
        target = torch.as_tensor(target).cpu()
        if target.shape != (len(images), ) or target.is_floating_point():
            raise ValueError(
                f'target must hold one integer class per image, i.e. shape '
                f'({len(images)},), got {target.dtype} of shape '
                f'{tuple(target.shape)}; pass None to explain the predicted '
                'class.')
        if len(target) and not 0 <= int(target.min()) <= int(
                target.max()) < num_classes:
            raise ValueError(
                f'target classes must lie in [0, {num_classes - 1}] for this '
                f'{num_classes}-class model, got values in '
                f'[{int(target.min())}, {int(target.max())}]')
        target = target.long()
    return target, probabilities.gather(1, target[:, None])[:, 0]
