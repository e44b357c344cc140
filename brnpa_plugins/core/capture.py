"""Reading what a submodule computes during a model's forward pass."""
import torch
from torch import Tensor, nn


@torch.no_grad()
def layer_output(model: nn.Module, layer: nn.Module, inputs: Tensor):
    """What ``layer`` outputs (its last call) while ``model`` runs on
    ``inputs``, without gradients.

    Raises:
        ValueError: ``layer`` did not run in the forward pass.
    """
    captured = []
    handle = layer.register_forward_hook(
        lambda module, args, output: captured.append(output))
    try:
        model(inputs)
    finally:
        handle.remove()
    if not captured:
        raise ValueError(f'{type(layer).__name__} did not run during the '
                         'forward pass: pass a layer of this model.')
    return captured[-1]
