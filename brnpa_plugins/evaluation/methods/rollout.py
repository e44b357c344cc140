"""Attention rollout: the transformer-native explanation of a ViT.

Rollout (Abnar and Zuidema, 2020) follows how much of each input token
reaches the output through the attention layers. Per layer, the attention
matrix A (T x T, averaged over heads) is mixed with the residual
connection, ``0.5 * A + 0.5 * I``, its rows renormalised, and the layers'
matrices are multiplied in order. The row of the token the classifier reads
(the class token) gives the relevance of every grid token; a classifier that
averages the grid tokens (``out_type='avg_featmap'``) reads the mean of
their rows. The map does not depend on the class explained.

The attention matrices are recomputed from each attention layer's ``qkv``
projection (mmpretrain's ``MultiheadAttention``: ``qkv``, ``num_heads``,
``head_dims``; scale ``head_dims ** -0.5``), so nothing in the model changes.
"""
from typing import List

import torch
from torch import Tensor, nn

from ...backbones import FeatureLayer, token_grid


def attention_layers(model: nn.Module) -> List[nn.Module]:
    """The multi-head self-attention layers of ``model``, in forward order.

    Raises:
        ValueError: the model has none.
    """
    found = [m for m in model.modules()
             if isinstance(getattr(m, 'qkv', None), nn.Linear)
             and hasattr(m, 'num_heads') and hasattr(m, 'head_dims')]
    if not found:
        raise ValueError(
            f'{type(model).__name__} has no self-attention layer with a '
            '`qkv` projection (mmpretrain MultiheadAttention), so attention '
            'rollout cannot explain it; pick another saliency method.')
    return found


def _attention_matrix(qkv: Tensor, layer: nn.Module) -> Tensor:
    """B x T x T head-averaged attention from a B x T x 3C projection."""
    batch, tokens, _ = qkv.shape
    qkv = qkv.reshape(batch, tokens, 3, layer.num_heads, layer.head_dims)
    query, key = qkv[:, :, 0].transpose(1, 2), qkv[:, :, 1].transpose(1, 2)
    logits = query @ key.transpose(-2, -1) * layer.head_dims ** -0.5
    return logits.softmax(dim=-1).mean(dim=1)


@torch.no_grad()
def attention_rollout(model: nn.Module, images: Tensor, targets: Tensor,
                      feature_layer: FeatureLayer = None) -> Tensor:
    """Rollout maps of a vision transformer, B x h x w on its token grid.

    Args:
        model: maps normalised images to logits; contains the attention
            layers (:func:`attention_layers`).
        images: B x C x H x W.
        targets: unused (rollout does not depend on the class).
        feature_layer: the model's feature layer, for its ``extra_tokens``
            (tokens before the grid) and ``class_token`` (the classifier
            reads token 0).
    """
    if feature_layer is None or feature_layer.extra_tokens is None:
        raise ValueError(
            'attention rollout needs feature_layer.extra_tokens (the tokens '
            'before the grid): it explains vision transformers, whose '
            'feature layer outputs tokens; got ' + repr(feature_layer))
    captured = []
    hooks = [layer.qkv.register_forward_hook(
        lambda module, args, output, layer=layer:
        captured.append(_attention_matrix(output.float(), layer)))
        for layer in attention_layers(model)]
    try:
        model(images)
    finally:
        for hook in hooks:
            hook.remove()
    tokens = captured[0].shape[-1]
    identity = torch.eye(tokens, device=images.device)
    rollout = identity.expand(len(images), tokens, tokens)
    for attention in captured:
        mixed = 0.5 * attention + 0.5 * identity
        rollout = (mixed / mixed.sum(dim=-1, keepdim=True)) @ rollout
    extra = feature_layer.extra_tokens
    if feature_layer.class_token:
        relevance = rollout[:, 0, extra:]
    else:
        relevance = rollout[:, extra:, extra:].mean(dim=1)
    height, width = token_grid(relevance.shape[1], images.shape[-2:])
    return relevance.reshape(len(images), height, width)
