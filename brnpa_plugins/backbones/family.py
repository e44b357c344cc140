"""Backbone families: how to recognise a model, raise its resolution and
find the layer that outputs its last feature map.

Plugins register a :class:`BackboneFamily` for each family of models they
know through the ``brnpa_register_backbones`` hook (the built-in ResNet,
pooling ResNet-12 / Conv-4, ConvNeXt, ViT and Swin families of this package
too). :func:`to_high_resolution` and :func:`feature_layer` ask the families
in registration order, the built-in ones first, so a family a plugin
registers serves every adapter and saliency method.
"""
import math
from dataclasses import dataclass
from typing import Callable, Dict, NamedTuple, Optional, Sequence, Tuple

from torch import Tensor, nn

from ..plugins.manager import registered


class FeatureLayer(NamedTuple):
    """The layer of a backbone whose output is its last feature map.

    Saliency methods read it (CAMs weight it, ``norm`` takes its norm).

    Attributes:
        module: the layer; the backbone's last stage or final norm.
        extra_tokens: None when ``module`` outputs B x C x h x w maps; for a
            transformer whose ``module`` outputs B x (T + h * w) x C tokens,
            the number T of tokens before the grid (class token...).
        class_token: whether the classifier reads the first token (a ViT
            with ``out_type='cls_token'``) rather than the grid.
    """
    module: nn.Module
    extra_tokens: Optional[int] = None
    class_token: bool = False

    def feature_map(self, output, image_size: Tuple[int, int]) -> Tensor:
        """What :attr:`module` outputs, as B x C x h x w maps.

        A tuple or list counts by its last item. Transformer tokens
        (:attr:`extra_tokens` set) lose the extra tokens and are arranged on
        the grid of :func:`token_grid`.
        """
        if isinstance(output, (tuple, list)):
            output = output[-1]
        if self.extra_tokens is None:
            return output
        tokens = output[:, self.extra_tokens:]
        height, width = token_grid(tokens.shape[1], image_size)
        return tokens.reshape(len(tokens), height, width,
                              -1).permute(0, 3, 1, 2)


def token_grid(tokens: int, image_size: Tuple[int, int]) -> Tuple[int, int]:
    """The h x w grid of ``tokens`` cells whose shape is closest to the
    image's (h / w nearest to H / W), e.g. 144 tokens of a 96 x 96 image
    are 12 x 12.

    Raises:
        ValueError: ``tokens`` is not positive.
    """
    if tokens < 1:
        raise ValueError(f'no grid tokens to arrange (got {tokens})')
    height, width = image_size
    divisors = [d for d in range(1, math.isqrt(tokens) + 1)
                if tokens % d == 0]
    shapes = {(d, tokens // d) for d in divisors} | \
        {(tokens // d, d) for d in divisors}
    return min(shapes, key=lambda hw: abs(math.log(hw[0] * width /
                                                   (hw[1] * height))))


@dataclass(frozen=True)
class BackboneFamily:
    """A family of backbones and its stride surgery.

    Args:
        name (str): Short name, e.g. 'resnet'.
        matches (Callable[[nn.Module], bool]): Whether a model belongs to the
            family. It must only accept models ``convert`` can convert.
        convert (Callable[..., nn.Module]): ``convert(model, stages=None)``
            makes a model of the family high-resolution in place and returns
            it; ``stages`` names the stages to run at full resolution (None:
            the family's high-resolution form).
        description (str): One line shown by ``brnpa plugins``.
        feature_layer (Callable[[nn.Module], FeatureLayer], optional): the
            :class:`FeatureLayer` of a model of the family, for saliency
            methods (:func:`feature_layer`).
    """
    name: str
    matches: Callable[[nn.Module], bool]
    convert: Callable[..., nn.Module]
    description: str = ''
    feature_layer: Optional[Callable[[nn.Module], FeatureLayer]] = None

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ValueError('BackboneFamily name must be a non-empty '
                             f'string, got {self.name!r}')
        for field in ('matches', 'convert', 'feature_layer'):
            value = getattr(self, field)
            if not callable(value) and (field != 'feature_layer'
                                        or value is not None):
                raise TypeError(f'BackboneFamily {self.name!r}: {field} must '
                                f'be callable, got {value!r}')


def backbone_families() -> Dict[str, BackboneFamily]:
    """Name -> :class:`BackboneFamily` from all plugins."""
    return registered('brnpa_register_backbones', BackboneFamily)


def family_of(model: nn.Module) -> Optional[BackboneFamily]:
    """The first registered family that recognises ``model``, or None."""
    for family in backbone_families().values():
        if family.matches(model):
            return family
    return None


def to_high_resolution(model: nn.Module,
                       stages: Optional[Sequence] = None) -> nn.Module:
    """Make ``model`` high-resolution with the first family that matches it.

    Args:
        model: the network, changed in place.
        stages: the stages to run at full resolution, as the family names
            them; None for the family's high-resolution form (layer3 and
            layer4 of a ResNet).

    Raises:
        ValueError: no registered family recognises the model, or its
            family's surgery does not apply to it (the message says why).
    """
    family = family_of(model)
    if family is None:
        raise ValueError(
            f'no registered family recognises {type(model).__name__}; known '
            f'families: {sorted(backbone_families())}. Register one with the '
            '`brnpa_register_backbones` hook (see docs/plugins.md).')
    if stages is None:
        return family.convert(model)
    return family.convert(model, stages=tuple(stages))


def feature_layer(model: nn.Module) -> Optional[FeatureLayer]:
    """The :class:`FeatureLayer` of ``model``, from the first registered
    family that matches it and knows its feature layer; None if none does."""
    for family in backbone_families().values():
        if family.feature_layer is not None and family.matches(model):
            return family.feature_layer(model)
    return None


def last_output_stage(model: nn.Module, num_stages: int) -> int:
    """Index of the last stage ``model.out_indices`` asks for, among
    ``num_stages`` stages (mmpretrain backbones; negative indices count from
    the end); the last stage when the model has no ``out_indices``."""
    out_indices = getattr(model, 'out_indices', None)
    if out_indices is None:
        return num_stages - 1
    if isinstance(out_indices, int):
        out_indices = (out_indices, )
    return max(index % num_stages for index in out_indices)


#: Normalisation layers :func:`remove_final_norm` takes out.
NORM_LAYERS = (nn.LayerNorm, nn.GroupNorm, nn.modules.batchnorm._NormBase)


def remove_final_norm(model: nn.Module) -> nn.Module:
    """Replace the normalisation layer that produces ``model``'s last feature
    map (its :func:`feature_layer`) by ``nn.Identity``, in place.

    A LayerNorm at the end of a ConvNeXt, ViT or Swin scales every location's
    feature vector to about the same norm, which leaves BR-NPA no activity to
    rank locations by (docs/backbones.md); without it the grouping reads the
    last stage's residual stream.

    Raises:
        ValueError: no registered family knows the model's feature layer, or
            that layer is not a normalisation layer.
    """
    found = feature_layer(model)
    name = type(model).__name__
    if found is None:
        raise ValueError(
            f'{name}: no registered backbone family names its feature layer, '
            'so its final norm cannot be found (`brnpa plugins` lists the '
            'families).')
    if not isinstance(found.module, NORM_LAYERS):
        raise ValueError(
            f'{name}: its last feature map comes from '
            f'{type(found.module).__name__}, not from a normalisation layer; '
            'there is no final norm to remove (already removed, or the '
            "backbone's own option, e.g. ViT final_norm=False, is set).")
    for parent in model.modules():
        for child_name, child in parent.named_children():
            if child is found.module:
                setattr(parent, child_name, nn.Identity())
    return model
