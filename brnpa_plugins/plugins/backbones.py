"""Backbones whose resolution BR-NPA can raise by stride surgery.

Plugins register a :class:`HighResolutionBackbone` for each family of models
they know how to convert; :func:`to_high_resolution` picks the first one that
recognises a model. The adapters build their high-resolution networks
through it (the torchreid models, for one), so a family a plugin registers
serves them too.
"""
from dataclasses import dataclass
from typing import Callable, NamedTuple, Optional, Sequence

from torch import nn

from .manager import registered


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


@dataclass(frozen=True)
class HighResolutionBackbone:
    """A family of backbones and its stride surgery.

    Args:
        name (str): Short name, e.g. 'resnet'.
        matches (Callable[[nn.Module], bool]): Whether a model belongs to the
            family.
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
            raise ValueError('HighResolutionBackbone name must be a non-empty '
                             f'string, got {self.name!r}')
        for field in ('matches', 'convert', 'feature_layer'):
            value = getattr(self, field)
            if not callable(value) and (field != 'feature_layer'
                                        or value is not None):
                raise TypeError(f'HighResolutionBackbone {self.name!r}: '
                                f'{field} must be callable, got '
                                f'{getattr(self, field)!r}')


def high_resolution_backbones() -> dict:
    """Name -> :class:`HighResolutionBackbone` from all plugins."""
    return registered('brnpa_register_backbones', HighResolutionBackbone)


def to_high_resolution(model: nn.Module,
                       stages: Optional[Sequence[str]] = None) -> nn.Module:
    """Make ``model`` high-resolution with the first backbone that matches it.

    Families are asked in registration order, the built-in ones first.

    Args:
        model: the network, changed in place.
        stages: the stages to run at full resolution; None for the family's
            high-resolution form (layer3 and layer4 of a ResNet).

    Raises:
        ValueError: no registered backbone recognises the model.
    """
    backbones = high_resolution_backbones()
    for backbone in backbones.values():
        if backbone.matches(model):
            if stages is None:
                return backbone.convert(model)
            return backbone.convert(model, stages=tuple(stages))
    raise ValueError(
        f'No registered backbone recognises {type(model).__name__}; known '
        f'families: {sorted(backbones)}. Register one with the '
        '`brnpa_register_backbones` hook (see docs/plugins.md).')


def feature_layer(model: nn.Module) -> Optional[FeatureLayer]:
    """The :class:`FeatureLayer` of ``model``, from the first registered
    family that matches it and knows its feature layer; None if none does."""
    for backbone in high_resolution_backbones().values():
        if backbone.feature_layer is not None and backbone.matches(model):
            return backbone.feature_layer(model)
    return None


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
