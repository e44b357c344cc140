"""Saliency methods: a registry of functions that explain a classifier.

A saliency method is a function
``method(model, images, targets, layers, **options) -> Tensor[B, h, w]``:

- ``model`` maps normalised B x C x H x W images to B x K logits;
- ``targets`` holds the B classes to explain;
- ``layers`` is a :class:`SaliencyLayers` naming the modules a method reads;
- the result holds one map per image (higher = more important) whose size
  divides the image size (the feature grid or the image itself).

Built in: ``attention`` (an attention model's own saliency, spec section 7:
top-ranked map times the norm map), ``attention-all`` (the sum of all its
maps times the norm map), ``norm`` (the feature-norm map of any
CNN), ``gradcam``, ``gradcam++``, ``scorecam``, ``ablationcam`` (through the
grad-cam package) and ``rise``. Code adds methods with
:func:`register_saliency_method`; plugins through the
``brnpa_register_saliency_methods`` hook (e.g. the built-in ``brnpa``,
which finds the BR-NPA grouping inside any model), which
:func:`compute_saliency` uses for names not registered here.
"""
import functools
from typing import Any, Callable, Dict, NamedTuple, Optional

from torch import Tensor, nn

from ..core.capture import layer_output
from ..core.maps import min_max_normalize, saliency_map
from .posthoc import CAM_CLASSES, cam_method
from .rise import rise

SaliencyMethod = Callable[..., Tensor]

#: Registered saliency methods, by name.
SALIENCY_METHODS: Dict[str, SaliencyMethod] = {}


class SaliencyLayers(NamedTuple):
    """The modules of a classifier that saliency methods read.

    Attributes:
        features: the last convolutional stage, whose output is the
            B x C x h x w feature map (a tuple output counts by its last
            item). CAMs weight it; ``norm`` takes its channel-wise L2 norm.
        attention: an attention neck whose output has ``attention``
            (B x N x h x w, rank order) and ``norm`` (B x h x w), such as
            ``BRNPANeck`` or ``BCNNNeck``; None for a plain CNN.
    """
    features: Optional[nn.Module] = None
    attention: Optional[nn.Module] = None


def register_saliency_method(name: str,
                             method: SaliencyMethod,
                             overwrite: bool = False) -> None:
    """Add ``method`` to :data:`SALIENCY_METHODS` under ``name``.

    Args:
        name: the name tools and configs use (``--methods NAME``).
        method: a function with the signature of this module's docstring.
        overwrite: replace a method already registered under ``name``.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f'a saliency method name must be a non-empty '
                         f'string, got {name!r}')
    if not callable(method):
        raise TypeError(f'saliency method {name!r} must be callable, got '
                        f'{type(method).__name__}')
    if name in SALIENCY_METHODS and not overwrite \
            and SALIENCY_METHODS[name] is not method:
        raise ValueError(f'a saliency method named {name!r} is already '
                         'registered; choose another name or pass '
                         'overwrite=True.')
    SALIENCY_METHODS[name] = method


def compute_saliency(name: str, model: nn.Module, images: Tensor,
                     targets: Tensor, layers: SaliencyLayers,
                     **options: Any) -> Tensor:
    """Run the registered method ``name`` and check what it returns.

    Returns:
        B x h x w float maps on the images' device.
    """
    if name in SALIENCY_METHODS:
        maps = SALIENCY_METHODS[name](model, images, targets, layers,
                                      **options)
    else:
        maps = _plugin_method(name).compute(model, images, targets)
    if not isinstance(maps, Tensor) or maps.dim() != 3 \
            or len(maps) != len(images):
        raise ValueError(
            f'saliency method {name!r} must return B x h x w maps for '
            f'{len(images)} images, got shape '
            f'{tuple(getattr(maps, "shape", ()))}')
    return maps.detach().float().to(images.device)


def _plugin_method(name: str):
    """A method registered through the ``brnpa_register_saliency_methods``
    hook (``compute(model, images, targets)``: no layers, no options)."""
    from ..plugins import UnknownNameError, get_saliency_method
    try:
        return get_saliency_method(name)
    except UnknownNameError:
        raise KeyError(
            f'unknown saliency method {name!r}; built in: '
            f'{sorted(SALIENCY_METHODS)}. Add one with '
            'register_saliency_method(name, fn) or a plugin\'s '
            'brnpa_register_saliency_methods hook.') from None


def _required(layers: SaliencyLayers, field: str, method: str) -> nn.Module:
    layer = getattr(layers, field, None)
    if layer is None:
        raise ValueError(f'saliency method {method!r} needs layers.{field} '
                         f'(see SaliencyLayers); got {layers!r}')
    return layer


def attention_saliency(model: nn.Module, images: Tensor, targets: Tensor,
                       layers: SaliencyLayers,
                       maps: Optional[int] = 1) -> Tensor:
    """An attention model's saliency: top-ranked map times the norm map.

    The maps come with the prediction (one forward pass); ``targets`` does
    not change them.

    Args:
        maps: how many top-ranked maps are summed before the product; 1 is
            the authors' protocol (spec section 7), None sums all N.
    """
    out = layer_output(model, _required(layers, 'attention', 'attention'),
                       images)
    if not hasattr(out, 'attention') or not hasattr(out, 'norm'):
        raise ValueError(
            f'layers.attention returned {type(out).__name__}, which has no '
            '`attention` and `norm`; point it at an attention neck such as '
            'BRNPANeck or BCNNNeck.')
    attention = out.attention.float()[:, :maps].sum(dim=1, keepdim=True)
    return saliency_map(attention, out.norm.float())


def norm_saliency(model: nn.Module, images: Tensor, targets: Tensor,
                  layers: SaliencyLayers) -> Tensor:
    """The feature-norm map of the last stage, min-max normalised."""
    out = layer_output(model, _required(layers, 'features', 'norm'), images)
    if isinstance(out, (tuple, list)):
        out = out[-1]
    return min_max_normalize(out.float().norm(dim=1))


register_saliency_method('attention', attention_saliency)
register_saliency_method('attention-all',
                         functools.partial(attention_saliency, maps=None))
register_saliency_method('norm', norm_saliency)
for _name in CAM_CLASSES:
    register_saliency_method(_name, cam_method(_name))
register_saliency_method('rise', rise)
