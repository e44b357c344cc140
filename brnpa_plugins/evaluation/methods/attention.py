"""An attention model's own maps, and the feature-norm map of any network.

An attention model (BR-NPA, B-CNN) explains itself: the maps come with the
prediction, from one forward pass, whatever the class asked for.
:func:`brnpa_class_saliency` makes them class-specific: each part's map is
weighted by what the part adds to the explained class's logit.
:func:`attention_output` reads them from the model's attention layer (a
neck such as ``BRNPANeck``, or the core ``BRNPA`` grouping inside any
model); the saliency of spec section 7 is its most active map times the
feature-norm map.
"""
from typing import Optional, Tuple

import torch
from torch import Tensor, nn

from ...core import BRNPA
from ...core.capture import layer_output
from ...core.maps import min_max_normalize, rank_by_activity, saliency_map


def _grouping(model: nn.Module) -> nn.Module:
    groupings = [m for m in model.modules() if isinstance(m, BRNPA)]
    if not groupings:
        raise ValueError(
            f'{type(model).__name__} contains no BRNPA module, so it has no '
            'BR-NPA saliency; pick a post-hoc method for it instead.')
    # The last grouping is the one the classifier reads.
    return groupings[-1]


def attention_output(model: nn.Module, images: Tensor,
                     attention_layer: Optional[nn.Module] = None):
    """What the model's attention layer outputs on ``images``.

    Args:
        attention_layer: the layer to read, whose output has ``attention``
            (B x N x h x w), ``norm`` (B x h x w) and, to rank the maps,
            ``activity`` (B x N); None: the last core ``BRNPA`` grouping in
            the model (of any ecosystem).
    """
    layer = _grouping(model) if attention_layer is None else attention_layer
    out = layer_output(model, layer, images)
    if not hasattr(out, 'attention') or not hasattr(out, 'norm'):
        raise ValueError(
            f'the attention layer {type(layer).__name__} returned '
            f'{type(out).__name__}, which has no `attention` and `norm`; '
            'point it at an attention neck such as BRNPANeck or BCNNNeck.')
    return out


def _activity(out) -> Optional[Tensor]:
    activity = getattr(out, 'activity', None)
    return None if activity is None else activity.float()


def ranked_part_maps(out) -> Tensor:
    """The N maps of :func:`attention_output`, most active first, each
    times the norm map: B x N x h x w (not normalised)."""
    attention = out.attention.float()
    activity = _activity(out)
    if activity is not None:
        attention = rank_by_activity(attention, activity)
    return attention * out.norm.float()[:, None]


def _top_maps(out, maps: Optional[int] = 1) -> Tensor:
    return saliency_map(out.attention.float(), out.norm.float(),
                        _activity(out), maps)


def attention_saliency(model: nn.Module, images: Tensor, targets: Tensor,
                       attention_layer: Optional[nn.Module] = None,
                       maps: Optional[int] = 1) -> Tensor:
    """An attention model's saliency: top-ranked map times the norm map.

    Maps are ranked by the parts' activity when the layer gives it (as
    BR-NPA ranks its parts), in their order otherwise; ``targets`` does not
    change them.

    Args:
        attention_layer: the attention neck (required).
        maps: how many top-ranked maps are summed before the product; 1 is
            the authors' protocol (spec section 7), None sums all N.
    """
    if attention_layer is None:
        raise ValueError(
            "saliency method 'attention' needs the model's attention_layer "
            '(an attention neck such as BRNPANeck or BCNNNeck), got None; '
            "for the core BRNPA grouping inside any model, use 'brnpa'.")
    return _top_maps(attention_output(model, images, attention_layer), maps)


def brnpa_saliency(model: nn.Module, images: Tensor,
                   targets: Optional[Tensor] = None) -> Tensor:
    """The most active map of the core ``BRNPA`` grouping times its norm
    map, min-max normalised, in a model of any ecosystem."""
    return _top_maps(attention_output(model, images))


def class_part_contributions(model: nn.Module, images: Tensor,
                             targets: Optional[Tensor] = None
                             ) -> Tuple[object, Tensor, Tensor]:
    """What each part of the core ``BRNPA`` grouping adds to a class logit.

    The part vectors the grouping outputs are made leaves of the graph and
    the gradient of the target logit with respect to them is multiplied by
    them (summed over channels): for a head that is affine in the part
    vectors (a linear layer, dropout and batch norm in eval mode, as
    BRNPAHead and the torchreid bottleneck), this is exactly each part's
    term of the logit, the values
    :func:`brnpa_plugins.core.part_contributions` computes from the
    layer's weight, and they sum to the logit minus its value at zero parts.
    Only the head is differentiated, in a model of any ecosystem.

    Args:
        targets: B classes, or None for the predicted ones.

    Returns:
        (the grouping's output, B x N contributions in its part order,
        LongTensor[B] the classes explained).
    """
    grouping = _grouping(model)
    captured = []

    def make_leaves(module, args, output):
        leaves = output.features.detach().requires_grad_(True)
        output = output._replace(features=leaves)
        captured.append(output)
        return output

    handle = grouping.register_forward_hook(make_leaves)
    try:
        with torch.enable_grad():
            logits = model(images)
            out = captured[-1]
            if targets is None:
                targets = logits.detach().argmax(dim=1)
            targets = torch.as_tensor(targets, device=logits.device).long()
            chosen = logits.gather(1, targets[:, None]).sum()
            gradient, = torch.autograd.grad(chosen, out.features)
    finally:
        handle.remove()
    contributions = (gradient * out.features.detach()).sum(dim=-1)
    return out, contributions.detach(), targets


def brnpa_class_saliency(model: nn.Module, images: Tensor,
                         targets: Optional[Tensor] = None) -> Tensor:
    """BR-NPA's maps weighted by their parts' contribution to the class.

    ``sum_n max(c_n, 0) * a_n * norm``, min-max normalised, where ``c_n``
    is part n's term of the target class's logit
    (:func:`class_part_contributions`): the parts that speak for the class,
    in proportion to how much. An image whose parts all speak against the
    class gets an all-zero map.
    """
    out, contributions, _ = class_part_contributions(model, images, targets)
    weights = contributions.float().clamp_min(0)[:, :, None, None]
    weighted = (weights * out.attention.detach().float()).sum(dim=1)
    return min_max_normalize(weighted * out.norm.detach().float())


def norm_saliency(model: nn.Module, images: Tensor, targets: Tensor,
                  feature_layer=None) -> Tensor:
    """The feature-norm map of the last stage, min-max normalised.

    Args:
        feature_layer: the model's
            :class:`~brnpa_plugins.backbones.FeatureLayer`.
    """
    if feature_layer is None:
        raise ValueError("saliency method 'norm' needs the model's "
                         'feature_layer (a FeatureLayer), got None')
    out = layer_output(model, feature_layer.module, images)
    out = feature_layer.feature_map(out, images.shape[-2:])
    return min_max_normalize(out.float().norm(dim=1))
