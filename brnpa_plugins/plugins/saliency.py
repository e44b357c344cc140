"""Saliency methods that evaluation code can ask for by name."""
from dataclasses import dataclass
from typing import Callable, Dict, Optional

from torch import Tensor, nn

from .manager import lookup, registered

#: compute(model, images, targets) -> B x h x w maps in [0, 1]; ``targets``
#: (B class indices, or None for the predicted class) matters to
#: class-specific methods only.
SaliencyFunction = Callable[[nn.Module, Tensor, Optional[Tensor]], Tensor]


@dataclass(frozen=True)
class SaliencyMethod:
    """A named way to compute saliency maps of a model.

    Args:
        name (str): Name evaluation code asks for, e.g. 'brnpa'.
        compute (SaliencyFunction): ``compute(model, images, targets)``
            returning B x h x w maps in [0, 1], at any resolution.
        description (str): One line shown by ``brnpa plugins``.
    """
    name: str
    compute: SaliencyFunction
    description: str = ''

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ValueError('SaliencyMethod name must be a non-empty string, '
                             f'got {self.name!r}')
        if not callable(self.compute):
            raise TypeError(f'SaliencyMethod {self.name!r}: compute must be '
                            f'callable, got {self.compute!r}')


def saliency_methods() -> Dict[str, SaliencyMethod]:
    """Name -> :class:`SaliencyMethod` from all plugins."""
    return registered('brnpa_register_saliency_methods', SaliencyMethod)


def get_saliency_method(name: str) -> SaliencyMethod:
    """The saliency method called ``name``; the error suggests close names."""
    return lookup(saliency_methods(), name, 'saliency method',
                  '`brnpa plugins`')
