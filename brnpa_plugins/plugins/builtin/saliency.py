"""Built-in plugin: the saliency map of a BR-NPA model (spec section 7)."""
from typing import Optional

from torch import Tensor, nn

from ...core import BRNPA, saliency_map
from ...core.capture import layer_output
from ..hookspecs import hookimpl
from ..saliency import SaliencyMethod


def brnpa_saliency(model: nn.Module, images: Tensor,
                   targets: Optional[Tensor] = None) -> Tensor:
    """The top-ranked attention map times the norm map, min-max normalised.

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
    return saliency_map(output.attention, output.norm)


@hookimpl
def brnpa_register_saliency_methods(register):
    register(SaliencyMethod(
        name='brnpa',
        compute=brnpa_saliency,
        description='top-ranked BR-NPA attention map x feature-norm map'))
