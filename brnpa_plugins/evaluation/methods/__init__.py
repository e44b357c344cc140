"""Saliency methods: the registry, and every method that ships built in.

A method is a function ``method(model, images, targets, **context) ->
Tensor[B, h, w]`` wrapped in a :class:`SaliencyMethod` record (its label in
reports, whether it is a control, an attention model's own maps or
expensive, its default options). The built-in ones register through this
module's ``brnpa_register_saliency_methods`` hook, as a third-party plugin's
methods do through theirs, and :func:`compute_saliency` runs any of them:

- ``attention`` / ``attention-all``: an attention neck's most active map
  (all its maps) times the norm map (spec section 7); ``brnpa``: the same
  map from the core grouping inside any model; ``brnpa-class``: its maps
  weighted by each part's contribution to the explained class;
- ``norm``: the feature-norm map of any network;
- ``gradcam``, ``gradcam++``, ``scorecam``, ``ablationcam`` (the grad-cam
  package), ``rise``, ``rollout`` (vision transformers);
- the controls of :mod:`.controls`: ``random``, ``gaussian``,
  ``saturation``, the cue detectors ``white-pixels`` and ``edge-energy``,
  ``oracle``, ``oracle-pixels``, ``anti-oracle``.
"""
import functools

from ...plugins.hookspecs import hookimpl
from . import controls
from .attention import (attention_output, attention_saliency,
                        brnpa_class_saliency, brnpa_saliency,
                        class_part_contributions, norm_saliency,
                        ranked_part_maps)
from .posthoc import CAM_CLASSES, cam_method
from .registry import (SaliencyMethod, compute_saliency, cue_detectors,
                       get_saliency_method, saliency_methods)
from .rise import RiseMasks, rise
from .rollout import attention_rollout

#: How reports name the CAMs of the grad-cam package.
CAM_LABELS = {'gradcam': 'Grad-CAM', 'gradcam++': 'Grad-CAM++',
              'scorecam': 'Score-CAM', 'ablationcam': 'Ablation-CAM'}
#: CAMs that run hundreds of forward passes per image.
EXPENSIVE_CAMS = ('scorecam', 'ablationcam')

BUILTIN_METHODS = (
    SaliencyMethod('attention', attention_saliency,
                   "an attention neck's most active map x its norm map",
                   label='', attention=True),
    SaliencyMethod('attention-all',
                   functools.partial(attention_saliency, maps=None),
                   "the sum of an attention neck's maps x its norm map",
                   label='(all maps)', attention=True),
    SaliencyMethod('brnpa', brnpa_saliency,
                   'most active BR-NPA map x feature-norm map, in any model',
                   label='', attention=True),
    SaliencyMethod('brnpa-class', brnpa_class_saliency,
                   "BR-NPA maps weighted by each part's contribution to the "
                   "class's logit, in any model",
                   label='(class-weighted)', attention=True),
    SaliencyMethod('norm', norm_saliency,
                   'L2 norm of the last feature map (any CNN)',
                   label='norm map'),
    *(SaliencyMethod(name, cam_method(name),
                     f'{CAM_CLASSES[name]} of the grad-cam package',
                     label=CAM_LABELS[name], expensive=name in EXPENSIVE_CAMS)
      for name in CAM_CLASSES),
    SaliencyMethod('rise', rise, 'RISE: random masks, black box',
                   label='RISE', expensive=True),
    SaliencyMethod('rollout', attention_rollout,
                   'attention rollout of a vision transformer',
                   label='rollout'),
    SaliencyMethod('random', controls.uniform_random,
                   'control: uniform noise (seeded)',
                   label='uniform random', control=True),
    SaliencyMethod('gaussian', controls.centred_gaussian,
                   'control: a centred Gaussian',
                   label='centred Gaussian', control=True),
    SaliencyMethod('saturation', controls.saturation,
                   'control: colour saturation of the image (no model)',
                   label='colour saturation (no model)', control=True),
    SaliencyMethod('white-pixels', controls.white_pixels,
                   'control: white pixels of the image, the white-rim cue '
                   '(no model)',
                   label='white pixels (no model)', control=True, cue=True),
    SaliencyMethod('edge-energy', controls.edge_energy,
                   'control: gradient magnitude of the image, every rim '
                   '(no model)',
                   label='edge energy (no model)', control=True, cue=True),
    SaliencyMethod('oracle', controls.oracle,
                   'control: the decisive-part boxes (ground truth)',
                   label='oracle', control=True),
    SaliencyMethod('oracle-pixels', controls.pixel_oracle,
                   'control: the decisive-part boxes at full resolution '
                   '(ground truth; the ceiling)',
                   label='oracle (pixels)', control=True),
    SaliencyMethod('anti-oracle', controls.anti_oracle,
                   'control: the distractor boxes (ground truth)',
                   label='anti-oracle', control=True),
)


@hookimpl
def brnpa_register_saliency_methods(register):
    for method in BUILTIN_METHODS:
        register(method)


__all__ = [
    'BUILTIN_METHODS', 'RiseMasks', 'SaliencyMethod', 'attention_output',
    'class_part_contributions', 'compute_saliency', 'cue_detectors',
    'get_saliency_method', 'ranked_part_maps', 'rise', 'saliency_methods'
]
