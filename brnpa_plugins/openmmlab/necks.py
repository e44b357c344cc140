"""BR-NPA as an mmpretrain neck."""
from typing import NamedTuple, Optional, Sequence, Union

from mmengine.model import BaseModule
from torch import Tensor

from mmpretrain.registry import MODELS

from ..core import BRNPA, BRNPAOutput
from ..core.checks import check_positive_int, reject_unknown_kwargs


class BRNPANeckOutput(NamedTuple):
    """What :class:`BRNPANeck` passes to the head.

    It is a tuple whose last item is a B x (N*C) tensor, as mmpretrain heads
    expect (``feats[-1]``), so any linear head works on it; BR-NPA heads also
    read the maps. The grouping's own output travels as it is (``parts``);
    ``attention``, ``activity``, ``norm`` and ``seeds`` read it.

    Attributes:
        parts: the core's :class:`~brnpa_plugins.core.BRNPAOutput`.
        features: B x (N*C) concatenated part vectors, in rank order.
    """
    parts: BRNPAOutput
    features: Tensor

    @property
    def attention(self) -> Tensor:
        """B x N x H x W attention maps (>= 0, each sums to 1)."""
        return self.parts.attention

    @property
    def activity(self) -> Tensor:
        """B x N part activities."""
        return self.parts.activity

    @property
    def norm(self) -> Tensor:
        """B x H x W feature-norm map."""
        return self.parts.norm

    @property
    def seeds(self) -> Optional[Tensor]:
        """B x N seed locations (None for necks without seeds)."""
        return self.parts.seeds


@MODELS.register_module()
@reject_unknown_kwargs
class BRNPANeck(BaseModule):
    """Group the last backbone feature map into N ranked parts (no parameters).

    Args:
        in_channels (int): Channels C of the backbone feature map it reads
            (2048 for ResNet-50, 512 for ResNet-18).
        num_parts (int): Number of parts N. Defaults to 3.
        in_index (int): Which backbone stage output to use. Defaults to -1.
        refine (bool): Attention-weighted part vectors (the method) or the
            seeds' own vectors (ablation). Defaults to True.
        seed (str): ``'max'`` (the method) or ``'random'`` (ablation).
        activity (str): ``'attended_norm'`` or ``'vector_norm'``.
        sort_by_activity (bool): Rank parts by activity instead of selection
            order. Defaults to False.
        relu_input (bool): Pass the features through a ReLU before grouping.
            The grouping assumes non-negative features, as a ResNet's end
            with a ReLU: cosine similarities in [0, 1] and the norm of a
            location as its activity. ConvNeXt, ViT and Swin features come
            out of a LayerNorm and are signed: left as they are (the
            default), similarities below 0 count as 0 and the norms are
            those of the signed vectors, which a LayerNorm over channels
            makes equal at every location before its affine weights. With
            True, the parts, maps and norm map are
            those of the rectified features. Defaults to False.
        init_cfg (dict, optional): Unused (no parameters); kept for the
            registry's conventions.
    """

    def __init__(self,
                 in_channels: int,
                 num_parts: int = 3,
                 in_index: int = -1,
                 refine: bool = True,
                 seed: str = 'max',
                 activity: str = 'attended_norm',
                 sort_by_activity: bool = False,
                 relu_input: bool = False,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        check_positive_int(
            in_channels, 'in_channels', 'BRNPANeck: ',
            'set it to the channels of the backbone output (2048 for '
            'ResNet-50, 512 for ResNet-18/34).')
        if not isinstance(in_index, int):
            raise ValueError(
                f'BRNPANeck: in_index must be an integer, got {in_index!r}')
        if not isinstance(relu_input, bool):
            raise ValueError(
                f'BRNPANeck: relu_input must be True or False, got '
                f'{relu_input!r}; set it to True for signed backbone '
                'features (after a LayerNorm).')
        self.in_channels = in_channels
        self.in_index = in_index
        self.relu_input = relu_input
        try:
            self.brnpa = BRNPA(num_parts, refine, seed, activity,
                               sort_by_activity)
        except ValueError as error:
            raise ValueError(f'BRNPANeck: {error}') from None

    @property
    def num_parts(self) -> int:
        return self.brnpa.num_parts

    def forward(self, inputs: Union[Tensor, Sequence[Tensor]]
                ) -> BRNPANeckOutput:
        x = select_feature_map(inputs, self.in_index, self.in_channels,
                               type(self).__name__)
        if self.relu_input:
            x = x.relu()
        out = self.brnpa(x)
        return BRNPANeckOutput(out, out.features.flatten(1))


def select_feature_map(inputs: Union[Tensor, Sequence[Tensor]],
                       in_index: int, in_channels: int, owner: str) -> Tensor:
    """The backbone stage a neck reads, checked against its ``in_channels``.

    Args:
        inputs: the backbone's output: one tensor or a tuple of stages.
        in_index: which stage of a tuple to take.
        in_channels: the channels the neck was configured for.
        owner: the neck's name, for error messages.
    """
    if isinstance(inputs, (tuple, list)):
        if not -len(inputs) <= in_index < len(inputs):
            raise ValueError(
                f'{owner}: in_index={in_index} but the backbone returned '
                f'{len(inputs)} stage outputs; set backbone.out_indices or '
                'neck.in_index.')
        inputs = inputs[in_index]
    if not isinstance(inputs, Tensor):
        raise TypeError(f'{owner} expects a tensor or a tuple of tensors, '
                        f'got {type(inputs).__name__}')
    if inputs.dim() != 4 or inputs.shape[1] != in_channels:
        channels = inputs.shape[1] if inputs.dim() == 4 else 'C'
        raise ValueError(
            f'{owner}: in_channels={in_channels} but the backbone gives '
            f'features of shape {tuple(inputs.shape)}; set '
            f'model.neck.in_channels={channels} and model.head.in_channels '
            'to the same value.')
    return inputs
