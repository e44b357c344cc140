"""Saliency methods: functions that explain a classifier, and how to run one.

Every saliency method, built in or from a plugin, is registered through the
``brnpa_register_saliency_methods`` plugin hook
(:func:`brnpa_plugins.plugins.saliency_methods` lists them) and called with
:func:`compute_saliency`. A method is a function
``method(model, images, targets, **context) -> Tensor[B, h, w]``:

- ``model`` maps normalised B x C x H x W images to B x K logits;
- ``targets`` holds the B classes to explain;
- ``context`` holds what the caller knows, of which the method receives the
  keyword arguments it names: ``layers`` (a :class:`SaliencyLayers` naming
  the modules a method reads), ``ground_truth`` (the known evidence, for the
  oracle), ``batch_size``, ``seed``, ``mean`` / ``std`` (the input
  normalisation), ``stride`` (the cell size of the control maps) and its
  own options;
- the result holds one map per image (higher = more important) whose size
  divides the image size (the feature grid or the image itself).

Built in (``brnpa_plugins/plugins/builtin/saliency.py``): ``attention`` (an
attention model's own saliency, spec section 7: its most active map times
the norm map), ``attention-all`` (all its maps), ``brnpa`` (the same map,
found in any model that contains the core grouping), ``norm`` (the
feature-norm map of any CNN), ``gradcam``, ``gradcam++``, ``scorecam``,
``ablationcam`` (through the grad-cam package), ``rise``, ``rollout``
(attention rollout of a vision transformer), and the controls
of :mod:`.controls` (``random``, ``gaussian``, ``saturation``, ``oracle``,
``anti-oracle``).
"""
import math
from typing import Any, NamedTuple, Optional, Tuple

from torch import Tensor, nn

from ..core.capture import layer_output
from ..core.maps import min_max_normalize, saliency_map


class SaliencyLayers(NamedTuple):
    """The modules of a classifier that saliency methods read.

    Attributes:
        features: the last convolutional stage, whose output is the
            B x C x h x w feature map (a tuple output counts by its last
            item). CAMs weight it; ``norm`` takes its channel-wise L2 norm.
        attention: an attention neck whose output has ``attention``
            (B x N x h x w), ``norm`` (B x h x w) and, to rank the maps,
            ``activity`` (B x N), such as ``BRNPANeck`` or ``BCNNNeck``;
            None for a plain CNN.
        extra_tokens: None when ``features`` outputs maps; for a
            transformer whose ``features`` outputs B x (T + h * w) x C
            tokens, the number T of tokens before the grid
            (:func:`feature_map` turns them into maps).
        class_token: whether the classifier reads the first token (for
            attention rollout).
    """
    features: Optional[nn.Module] = None
    attention: Optional[nn.Module] = None
    extra_tokens: Optional[int] = None
    class_token: bool = False


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


def feature_map(layers: SaliencyLayers, output,
                image_size: Tuple[int, int]) -> Tensor:
    """What ``layers.features`` outputs, as B x C x h x w maps.

    A tuple or list counts by its last item. Transformer tokens
    (``layers.extra_tokens`` set) lose the extra tokens and are arranged on
    the grid of :func:`token_grid`.
    """
    if isinstance(output, (tuple, list)):
        output = output[-1]
    if layers.extra_tokens is None:
        return output
    tokens = output[:, layers.extra_tokens:]
    height, width = token_grid(tokens.shape[1], image_size)
    return tokens.reshape(len(tokens), height, width, -1).permute(0, 3, 1, 2)


def compute_saliency(name: str, model: nn.Module, images: Tensor,
                     targets: Tensor, layers: Optional[SaliencyLayers] = None,
                     **context: Any) -> Tensor:
    """Run the registered method ``name`` and check what it returns.

    Args:
        name: a name of :func:`brnpa_plugins.plugins.saliency_methods`.
        model, images, targets: as in the module docstring.
        layers: the modules methods read (None for methods that need none).
        context: further keyword arguments; each method receives those it
            names.

    Returns:
        B x h x w float maps on the images' device.
    """
    from ..plugins import get_saliency_method
    method = get_saliency_method(name)
    maps = method(model, images, targets, layers=layers, **context)
    if not isinstance(maps, Tensor) or maps.dim() != 3 \
            or len(maps) != len(images):
        raise ValueError(
            f'saliency method {name!r} must return B x h x w maps for '
            f'{len(images)} images, got shape '
            f'{tuple(getattr(maps, "shape", ()))}')
    return maps.detach().float().to(images.device)


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
    not change them. Maps are ranked by the parts' activity when the neck
    gives it (as BR-NPA ranks its parts), in their order otherwise.

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
    activity = getattr(out, 'activity', None)
    return saliency_map(out.attention.float(), out.norm.float(),
                        None if activity is None else activity.float(), maps)


def norm_saliency(model: nn.Module, images: Tensor, targets: Tensor,
                  layers: SaliencyLayers) -> Tensor:
    """The feature-norm map of the last stage, min-max normalised."""
    out = layer_output(model, _required(layers, 'features', 'norm'), images)
    out = feature_map(layers, out, images.shape[-2:])
    return min_max_normalize(out.float().norm(dim=1))
