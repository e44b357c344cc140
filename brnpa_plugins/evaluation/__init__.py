"""Measuring how faithful and how well placed saliency maps are (spec 7).

Metrics: :func:`deletion_auc`, :func:`insertion_auc` and their curves
(:func:`perturbation_curves`), DC / IC (:func:`saliency_correlation`),
average drop / increase in confidence (:func:`confidence_change`),
:func:`sparsity` and the :func:`pointing_game`; :func:`evaluate_maps` runs
them all on a batch. :mod:`.ground_truth` scores maps against known evidence
and by intervention; :mod:`.controls` holds the maps every method has to
beat. Saliency methods (attention maps, post-hoc CAMs, RISE, controls) are
in :mod:`.methods`, registered through the ``brnpa_register_saliency_methods``
plugin hook and run with :func:`compute_saliency`.
"""
from .confidence import ConfidenceChange, confidence_change
from .perturbation import (DEFAULT_MAX_STEPS, PerturbationCurve,
                           area_under_curve, blur_kernel_size, box_blur,
                           check_images_and_maps, deletion_auc,
                           insertion_auc, perturbation_curves,
                           saliency_correlation, step_plan)
from .pointing import map_peaks, pointing_game
from .protocol import HIGHER_IS_BETTER, MapEvaluation, evaluate_maps
from .methods import (RiseMasks, SaliencyMethod, compute_saliency,
                      get_saliency_method, rise, saliency_methods)
from .scoring import class_probabilities, predict, resolve_targets
from .sparsity import sparsity

__all__ = [
    'DEFAULT_MAX_STEPS', 'HIGHER_IS_BETTER',
    'ConfidenceChange', 'MapEvaluation', 'PerturbationCurve', 'RiseMasks',
    'SaliencyMethod', 'area_under_curve',
    'blur_kernel_size', 'box_blur', 'check_images_and_maps',
    'class_probabilities', 'compute_saliency', 'confidence_change',
    'deletion_auc', 'evaluate_maps', 'get_saliency_method', 'insertion_auc',
    'map_peaks', 'perturbation_curves', 'pointing_game', 'predict',
    'resolve_targets', 'rise', 'saliency_correlation', 'saliency_methods',
    'sparsity', 'step_plan'
]
