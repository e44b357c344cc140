"""Saliency methods that evaluation code can ask for by name.

This is the one registry of saliency methods: the built-in ones (attention
maps, the norm map, CAMs, RISE, the controls and the oracle) and those of
third-party plugins all arrive through the ``brnpa_register_saliency_methods``
hook, and every consumer (``tools/eval_saliency.py``, ``SaliencyMetric``,
:func:`brnpa_plugins.evaluation.compute_saliency`) reads it.
"""
import inspect
from dataclasses import dataclass
from typing import Any, Callable, Dict

from torch import Tensor

from .manager import lookup, registered

#: ``compute(model, images, targets, **context) -> B x h x w maps``:
#: ``model`` maps normalised B x C x H x W images to logits, ``targets``
#: holds the B classes to explain (None: the predicted ones). A method names
#: the keyword arguments of the context it uses (``layers``, a
#: :class:`~brnpa_plugins.evaluation.SaliencyLayers`; ``ground_truth``, a
#: :class:`~brnpa_plugins.evaluation.ground_truth.GroundTruth`;
#: ``batch_size``, ``seed``, ``mean``, ``std``, ``stride`` and its own
#: options) and receives only those.
SaliencyFunction = Callable[..., Tensor]


@dataclass(frozen=True)
class SaliencyMethod:
    """A named way to compute saliency maps of a model.

    Args:
        name (str): Name evaluation code asks for, e.g. 'brnpa'.
        compute (SaliencyFunction): ``compute(model, images, targets,
            **context)`` returning B x h x w maps (higher = more salient)
            whose size divides the image size.
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

    def accepts(self, option: str) -> bool:
        """Whether ``compute`` takes the keyword argument ``option``."""
        parameters = inspect.signature(self.compute).parameters
        return option in parameters or any(
            p.kind is p.VAR_KEYWORD for p in parameters.values())

    def __call__(self, model, images: Tensor, targets,
                 **context: Any) -> Tensor:
        """``compute`` with the items of ``context`` it accepts."""
        return self.compute(model, images, targets, **{
            key: value for key, value in context.items()
            if self.accepts(key)})


def saliency_methods() -> Dict[str, SaliencyMethod]:
    """Name -> :class:`SaliencyMethod` from all plugins."""
    return registered('brnpa_register_saliency_methods', SaliencyMethod)


def get_saliency_method(name: str) -> SaliencyMethod:
    """The saliency method called ``name``; the error suggests close names."""
    return lookup(saliency_methods(), name, 'saliency method',
                  '`brnpa plugins`')
