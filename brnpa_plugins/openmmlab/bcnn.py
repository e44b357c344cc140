"""B-CNN: parametric bilinear attention pooling (WS-DAN style) as a neck.

The attention model BR-NPA is compared against: a 1x1 convolution (with
batch norm and ReLU) turns the feature map into N attention maps, and each map
pools the features by bilinear attention pooling,
``f_k = mean_i a_k(i) * x_i``. It returns :class:`BRNPANeckOutput`, so
:class:`BRNPAHead`, the saliency tools and the configs of BR-NPA work on it
unchanged.
"""
from typing import Optional, Sequence, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmpretrain.registry import MODELS

from ..core import BRNPAOutput
from ..core.checks import check_positive_int, reject_unknown_kwargs
from ..core.maps import rank_parts
from .necks import BRNPANeckOutput, select_feature_map


@MODELS.register_module()
@reject_unknown_kwargs
class BCNNNeck(BaseModule):
    """N learned attention maps and bilinear attention pooling.

    The part vectors keep the order of the 1x1 convolution's output channels
    (a linear head relies on part k always being map k). The attention maps
    and activities are returned sorted by decreasing activity, so that map 0
    is the most active one, as the saliency of an attention model expects
    (spec section 7).

    Args:
        in_channels (int): Channels C of the backbone feature map.
        num_parts (int): Number of attention maps N. Defaults to 3.
        in_index (int): Which backbone stage output to use. Defaults to -1.
        normalize (bool): Signed square root and L2 normalisation of the
            concatenated part vectors, as WS-DAN does. Defaults to True.
        scale (float): Multiplies the normalised vector so that a linear head
            without bias sees logits of a usable range (WS-DAN uses 100).
            Only used when ``normalize``. Defaults to 100.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 in_channels: int,
                 num_parts: int = 3,
                 in_index: int = -1,
                 normalize: bool = True,
                 scale: float = 100.0,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        for name, value in (('in_channels', in_channels),
                            ('num_parts', num_parts)):
            check_positive_int(value, name, 'BCNNNeck: ')
        if not isinstance(in_index, int):
            raise ValueError(
                f'BCNNNeck: in_index must be an integer, got {in_index!r}')
        if not scale > 0:
            raise ValueError(f'BCNNNeck: scale must be > 0, got {scale!r}')
        self.in_channels = in_channels
        self.num_parts = num_parts
        self.in_index = in_index
        self.normalize = normalize
        self.scale = scale
        self.attention = nn.Sequential(
            nn.Conv2d(in_channels, num_parts, kernel_size=1, bias=False),
            nn.BatchNorm2d(num_parts, eps=1e-3), nn.ReLU(inplace=True))

    def forward(self, inputs: Union[Tensor, Sequence[Tensor]]
                ) -> BRNPANeckOutput:
        x = select_feature_map(inputs, self.in_index, self.in_channels,
                               type(self).__name__)
        maps = self.attention(x)  # B x N x H x W, >= 0
        parts = torch.einsum('bnhw,bchw->bnc', maps, x) / maps[0, 0].numel()
        features = parts.flatten(1)
        if self.normalize:
            features = torch.sign(features) * torch.sqrt(
                features.abs() + 1e-12)
            features = self.scale * F.normalize(features, dim=1)

        mass = maps.flatten(2).sum(dim=2)  # B x N
        # A map that is zero everywhere (dead ReLU) is shown as uniform.
        uniform = torch.full_like(maps, 1.0 / maps[0, 0].numel())
        safe_mass = torch.where(mass > 0, mass, torch.ones_like(mass))
        attention = torch.where((mass > 0)[..., None, None],
                                maps / safe_mass[..., None, None], uniform)
        activity = mass / maps[0, 0].numel()
        attention, activity, parts = rank_parts(activity, attention,
                                                activity, parts)
        return BRNPANeckOutput(
            BRNPAOutput(parts, attention, activity, x.norm(dim=1), None),
            features)
