"""Measuring how faithful and how well placed saliency maps are (spec 7).

Metrics: :func:`deletion_auc`, :func:`insertion_auc` and their curves
(:func:`perturbation_curves`), DC / IC (:func:`saliency_correlation`),
average drop / increase in confidence (:func:`confidence_change`),
:func:`sparsity` and the :func:`pointing_game`; :func:`evaluate_maps` runs
them all on a batch. Saliency methods (attention maps, post-hoc CAMs, RISE)
live in a registry, :data:`SALIENCY_METHODS`, that plugins extend with
:func:`register_saliency_method`.
"""
from .confidence import ConfidenceChange, confidence_change
from .perturbation import (DEFAULT_MAX_STEPS, PerturbationCurve,
                           area_under_curve, blur_kernel_size, box_blur,
                           check_images_and_maps, deletion_auc,
                           insertion_auc, perturbation_curves,
                           saliency_correlation, step_plan)
from .pointing import map_peaks, pointing_game, random_pointing_baseline
from .protocol import HIGHER_IS_BETTER, MapEvaluation, evaluate_maps
from .rise import RiseMasks, rise
from .saliency import (SALIENCY_METHODS, SaliencyLayers, attention_saliency,
                       compute_saliency, norm_saliency,
                       register_saliency_method)
from .scoring import class_probabilities, predict, resolve_targets
from .sparsity import sparsity

__all__ = [
    'DEFAULT_MAX_STEPS', 'HIGHER_IS_BETTER', 'SALIENCY_METHODS',
    'ConfidenceChange', 'MapEvaluation', 'PerturbationCurve', 'RiseMasks',
    'SaliencyLayers', 'area_under_curve', 'attention_saliency',
    'blur_kernel_size', 'box_blur', 'check_images_and_maps',
    'class_probabilities', 'compute_saliency', 'confidence_change',
    'deletion_auc', 'evaluate_maps', 'insertion_auc', 'map_peaks',
    'norm_saliency', 'perturbation_curves', 'pointing_game', 'predict',
    'random_pointing_baseline', 'register_saliency_method', 'resolve_targets',
    'rise', 'saliency_correlation', 'sparsity', 'step_plan'
]
