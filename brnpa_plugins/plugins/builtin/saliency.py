"""Built-in plugin: every saliency method that ships with brnpa_plugins.

They register through the same hook as third-party methods, so the report
tool, ``SaliencyMetric`` and :func:`~brnpa_plugins.evaluation.compute_saliency`
see built-in and plugin methods alike.
"""
import functools
from typing import Optional

from torch import Tensor, nn

from ...core import BRNPA, saliency_map
from ...core.capture import layer_output
from ...evaluation import controls
from ...evaluation.posthoc import CAM_CLASSES, cam_method
from ...evaluation.rise import rise
from ...evaluation.rollout import attention_rollout
from ...evaluation.saliency import attention_saliency, norm_saliency
from ..hookspecs import hookimpl
from ..saliency import SaliencyMethod


def brnpa_saliency(model: nn.Module, images: Tensor,
                   targets: Optional[Tensor] = None) -> Tensor:
    """The most active attention map times the norm map, min-max normalised.

    Works for any model of any ecosystem that contains the core
    :class:`~brnpa_plugins.core.BRNPA` module: the grouping's output is read
    from its forward pass. BR-NPA maps do not depend on the class, so
    ``targets`` is unused.

    Returns:
        B x h x w maps at the feature-map resolution.
    """
    groupings = [m for m in model.modules() if isinstance(m, BRNPA)]
    if not groupings:
        raise ValueError(
            f'{type(model).__name__} contains no BRNPA module, so it has no '
            'BR-NPA saliency; pick a post-hoc method for it instead.')
    # The last grouping is the one the classifier reads.
    output = layer_output(model, groupings[-1], images)
    return saliency_map(output.attention, output.norm, output.activity)


BUILTIN_METHODS = (
    SaliencyMethod('attention', attention_saliency,
                   "an attention neck's most active map x its norm map"),
    SaliencyMethod('attention-all',
                   functools.partial(attention_saliency, maps=None),
                   "the sum of an attention neck's maps x its norm map"),
    SaliencyMethod('brnpa', brnpa_saliency,
                   'most active BR-NPA map x feature-norm map, in any model'),
    SaliencyMethod('norm', norm_saliency,
                   'L2 norm of the last feature map (any CNN)'),
    *(SaliencyMethod(name, cam_method(name),
                     f'{CAM_CLASSES[name]} of the grad-cam package')
      for name in CAM_CLASSES),
    SaliencyMethod('rise', rise, 'RISE: random masks, black box'),
    SaliencyMethod('rollout', attention_rollout,
                   'attention rollout of a vision transformer'),
    SaliencyMethod('random', controls.uniform_random,
                   'control: uniform noise (seeded)'),
    SaliencyMethod('gaussian', controls.centred_gaussian,
                   'control: a centred Gaussian'),
    SaliencyMethod('saturation', controls.saturation,
                   'control: colour saturation of the image (no model)'),
    SaliencyMethod('oracle', controls.oracle,
                   'control: the decisive-part boxes (ground truth)'),
    SaliencyMethod('anti-oracle', controls.anti_oracle,
                   'control: the distractor boxes (ground truth)'),
)


@hookimpl
def brnpa_register_saliency_methods(register):
    for method in BUILTIN_METHODS:
        register(method)
