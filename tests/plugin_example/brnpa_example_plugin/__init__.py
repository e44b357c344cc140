"""An example BR-NPA plugin: an adapter and a saliency method.

Its adapter needs an ecosystem that is not installed, so ``brnpa plugins``
lists it as unavailable with the command that would install it.
"""
from typing import Optional

import torch
from torch import Tensor, nn

from brnpa_plugins.evaluation.methods import SaliencyMethod
from brnpa_plugins.plugins import Adapter, hookimpl


@hookimpl
def brnpa_register_adapters(register):
    register(Adapter(
        name='example',
        module='brnpa_example_plugin.adapter',
        requires=('brnpa_example_ecosystem', ),
        install='pip install brnpa-example-ecosystem',
        description='registers BR-NPA in the example ecosystem'))


def centre_bias(model: nn.Module, images: Tensor,
                targets: Optional[Tensor] = None) -> Tensor:
    """A model-free baseline: a Gaussian bump at the centre of each image."""
    height, width = images.shape[-2:]
    rows = torch.linspace(-1, 1, height).unsqueeze(1)
    cols = torch.linspace(-1, 1, width).unsqueeze(0)
    bump = torch.exp(-2 * (rows**2 + cols**2))
    return bump.expand(images.shape[0], height, width)


@hookimpl
def brnpa_register_saliency_methods(register):
    register(SaliencyMethod('centre-bias', centre_bias,
                            'Gaussian centre-bias baseline',
                            label='centre bias (no model)', control=True))
