"""The one registry of saliency methods, and how to run one.

The built-in methods (attention maps, the norm map, CAMs, RISE, rollout, the
controls and the oracle) and those of third-party plugins all arrive through
the ``brnpa_register_saliency_methods`` hook, and every consumer (the
benchmark, ``SaliencyMetric``, :func:`compute_saliency`) reads this registry.
A :class:`SaliencyMethod` carries what a report needs to treat it: its label,
whether it is a control, reads an attention model's own maps, or is
expensive, and its default options.
"""
import inspect
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional

from torch import Tensor

from ...plugins.manager import lookup, registered

#: ``compute(model, images, targets, **context) -> B x h x w maps``:
#: ``model`` maps normalised B x C x H x W images to logits, ``targets``
#: holds the B classes to explain (None: the predicted ones). A method names
#: the keyword arguments of the context it uses and receives only those:
#: ``feature_layer`` (a :class:`~brnpa_plugins.backbones.FeatureLayer`, the
#: layer whose output is the last feature map), ``attention_layer`` (an
#: attention neck, or None), ``ground_truth`` (a
#: :class:`~brnpa_plugins.evaluation.ground_truth.GroundTruth`),
#: ``batch_size``, ``seed``, ``mean``, ``std``, ``stride`` and its own
#: options.
SaliencyFunction = Callable[..., Tensor]


@dataclass(frozen=True)
class SaliencyMethod:
    """A named way to compute saliency maps of a model.

    Args:
        name (str): Name evaluation code asks for, e.g. 'gradcam'.
        compute (SaliencyFunction): ``compute(model, images, targets,
            **context)`` returning B x h x w maps (higher = more salient)
            whose size divides the image size.
        description (str): One line shown by ``brnpa plugins``.
        label (str): How reports name the method's row: after the model's
            name for a method that explains a model (``'Grad-CAM'`` gives
            'CNN Grad-CAM'; '' leaves the model's name alone), alone for a
            control. Defaults to the name.
        control (bool): The map is a control every explanation must beat
            (random, model-free or drawn from the ground truth): it is
            scored once, on the reference model, and never randomised.
        attention (bool): The method returns an attention model's own maps,
            so their coverage of the evidence is scored too.
        expensive (bool): Hundreds of forward passes per image (RISE,
            Score-CAM): benchmarks run it on their perturbation images only.
        cue (bool): A control that detects a generated benchmark's visual
            cue without a model (white pixels, edges): every report with
            ground truth scores every registered cue detector, a
            third-party one included, and fails the benchmark when one
            reaches the oracle. Needs ``control=True``.
        options (Mapping[str, Any]): Default keyword arguments of
            ``compute`` (e.g. ``num_masks`` of RISE), overridden by a
            caller's ``options``.
    """
    name: str
    compute: SaliencyFunction
    description: str = ''
    label: Optional[str] = None
    control: bool = False
    attention: bool = False
    expensive: bool = False
    cue: bool = False
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ValueError('SaliencyMethod name must be a non-empty string, '
                             f'got {self.name!r}')
        if not callable(self.compute):
            raise TypeError(f'SaliencyMethod {self.name!r}: compute must be '
                            f'callable, got {self.compute!r}')
        if self.label is None:
            object.__setattr__(self, 'label', self.name)
        if not isinstance(self.label, str):
            raise TypeError(f'SaliencyMethod {self.name!r}: label must be a '
                            f'string, got {self.label!r}')
        if self.cue and not self.control:
            raise ValueError(f'SaliencyMethod {self.name!r}: a cue detector '
                             '(cue=True) is a control; set control=True')
        unknown = [key for key in self.options if not self.accepts(key)]
        if unknown:
            raise ValueError(f'SaliencyMethod {self.name!r}: compute takes no '
                             f'options {unknown}')
        object.__setattr__(self, 'options', dict(self.options))

    def accepts(self, option: str) -> bool:
        """Whether ``compute`` takes the keyword argument ``option``."""
        parameters = inspect.signature(self.compute).parameters
        return option in parameters or any(
            p.kind is p.VAR_KEYWORD for p in parameters.values())

    @property
    def needs_ground_truth(self) -> bool:
        """Whether the method reads the known evidence (the oracle)."""
        parameters = inspect.signature(self.compute).parameters
        return 'ground_truth' in parameters

    def row_label(self, model: str) -> str:
        """The report row of this method applied to ``model``."""
        if self.control:
            return self.label
        return f'{model} {self.label}' if self.label else model

    def __call__(self, model, images: Tensor, targets,
                 **context: Any) -> Tensor:
        """``compute`` with its options and the items of ``context`` it
        accepts (``context`` wins over the default options)."""
        given = {**self.options, **context}
        return self.compute(model, images, targets, **{
            key: value for key, value in given.items()
            if self.accepts(key)})


def saliency_methods() -> Dict[str, SaliencyMethod]:
    """Name -> :class:`SaliencyMethod` from all plugins."""
    return registered('brnpa_register_saliency_methods', SaliencyMethod)


def cue_detectors() -> List[str]:
    """Names of the registered cue detectors (``SaliencyMethod.cue``), in
    the registry's order: the model-free controls of every report on the
    generated benchmark."""
    return [name for name, method in saliency_methods().items()
            if method.cue]


def get_saliency_method(name: str) -> SaliencyMethod:
    """The saliency method called ``name``; the error suggests close names."""
    return lookup(saliency_methods(), name, 'saliency method',
                  '`brnpa plugins`')


def compute_saliency(name: str, model, images: Tensor, targets,
                     **context: Any) -> Tensor:
    """Run the registered method ``name`` and check what it returns.

    Args:
        name: a name of :func:`saliency_methods`.
        model, images, targets: as ``SaliencyMethod.compute`` takes them.
        context: the keyword arguments methods may take (see
            :data:`SaliencyFunction`); each method receives those it names.

    Returns:
        B x h x w float maps on the images' device.
    """
    maps = get_saliency_method(name)(model, images, targets, **context)
    if not isinstance(maps, Tensor) or maps.dim() != 3 \
            or len(maps) != len(images):
        raise ValueError(
            f'saliency method {name!r} must return B x h x w maps for '
            f'{len(images)} images, got shape '
            f'{tuple(getattr(maps, "shape", ()))}')
    return maps.detach().float().to(images.device)
