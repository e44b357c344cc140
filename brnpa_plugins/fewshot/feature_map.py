"""Any network as a few-shot backbone, cut at the layer of its feature map."""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..core.checks import close_names


class _FeatureMapReady(Exception):
    """Carries the feature map out of the wrapped network's forward."""

    def __init__(self, features: Tensor):
        super().__init__()
        self.features = features


def first_conv_channels(module: nn.Module) -> Optional[int]:
    """Input channels of the first convolution of ``module`` (None: none)."""
    for layer in module.modules():
        if isinstance(layer, nn.Conv2d):
            return layer.in_channels
    return None


class FeatureMapBackbone(nn.Module):
    """Any network, cut at the layer whose output is the feature map.

    BR-NPA groups a B x C x H x W map into parts, so a network that ends in
    global pooling and a flat vector (a torchvision ResNet, learn2learn's
    ``ResNet12Backbone``) is run only up to ``feature_layer``: its forward
    stops there and the later layers (pooling, classifier) are not run.
    The output passes through a ReLU, as in :class:`FewShotBackbone`.

    Args:
        network (nn.Module): The network.
        feature_layer (str, optional): Dotted name of the submodule whose
            output is the map. None uses ``layer4`` when the network has
            one (torchvision-style ResNets, learn2learn's ResNet-12), else
            the network's own output.
        in_channels (int, optional): Image channels; None reads them from
            the first convolution (3 without one). A value that disagrees
            with that convolution is an error.
        probe_size (int): Side of the blank images run once to find the
            output channels. Defaults to 64.
    """

    def __init__(self, network: nn.Module, feature_layer: Optional[str] = None,
                 in_channels: Optional[int] = None, probe_size: int = 64):
        super().__init__()
        name = type(network).__name__
        conv_channels = first_conv_channels(network)
        if in_channels is not None and conv_channels is not None and \
                in_channels != conv_channels:
            raise ValueError(
                f'model.in_channels={in_channels} (the images have '
                f'{in_channels} channels) but the first convolution of the '
                f'backbone {name} takes {conv_channels}; build the backbone '
                f'for {in_channels}-channel images (e.g. channels='
                f'{in_channels} for learn2learn models, or a first '
                'convolution with that many inputs).')
        self.in_channels = in_channels or conv_channels or 3
        self.network = network
        modules = dict(network.named_modules())
        if feature_layer is None and 'layer4' in modules:
            feature_layer = 'layer4'
        if feature_layer is not None and feature_layer not in modules:
            children = [n for n, _ in network.named_children()]
            hint = close_names(feature_layer, modules)
            raise ValueError(
                f'model.feature_layer={feature_layer!r}: {name} has no such '
                f'submodule' + (f' (did you mean {hint[0]!r}?)' if hint
                                else '') + f'; its children are {children}')
        self.feature_layer = feature_layer
        self._hook = None
        if feature_layer is not None:
            self._hook = modules[feature_layer].register_forward_hook(
                self._stop)
        was_training = network.training
        network.eval()
        with torch.no_grad():
            parameter = next(network.parameters(), None)
            probe = torch.zeros(2, self.in_channels, probe_size, probe_size,
                                device=None if parameter is None
                                else parameter.device)
            features = self._features(probe)
        network.train(was_training)
        self.out_channels = features.shape[1]

    @staticmethod
    def _stop(module, inputs, output):
        raise _FeatureMapReady(output)

    def extra_repr(self) -> str:
        return f'feature_layer={self.feature_layer!r}'

    def _features(self, x: Tensor) -> Tensor:
        try:
            output = self.network(x)
        except _FeatureMapReady as ready:
            output = ready.features
        if not isinstance(output, Tensor) or output.dim() != 4:
            shape = tuple(output.shape) if isinstance(output, Tensor) else \
                type(output).__name__
            where = f'its layer {self.feature_layer!r}' if \
                self.feature_layer else 'it'
            children = [n for n, _ in self.network.named_children()]
            raise ValueError(
                f'backbone {type(self.network).__name__}: {where} returns '
                f'{shape}, not a B x C x H x W feature map; BR-NPA groups '
                'the positions of a map into parts. Set model.feature_layer '
                'to the submodule whose output is the map (its children '
                f'are {children}).')
        return output

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self._features(x))
