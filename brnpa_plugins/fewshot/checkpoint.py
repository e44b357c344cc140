"""The learner weights of a checkpoint, loaded safely.

A checkpoint of mmengine's Runner keeps the model under ``state_dict``: the
few-shot learner's weights are those under ``learner.``
(``BRNPAFewShotModel``) or ``classifier.learner.`` (``BRNPAPretrainModel``,
the base-class pre-training). A bare state dict of the learner loads as it
is. Files are read by :func:`brnpa_plugins.core.io.load_checkpoint_file`
(``weights_only=True``).
"""
import os
from typing import Any, Dict, Union

from torch import nn

from ..core.io import load_checkpoint_file

PathLike = Union[str, os.PathLike]
#: Where the learner's weights are in the runner's models, in this order.
LEARNER_PREFIXES = ('learner.', 'classifier.learner.')


def learner_state(checkpoint: Dict[str, Any]) -> Dict[str, Any]:
    """The learner's state dict inside a loaded checkpoint."""
    weights = checkpoint.get('state_dict', checkpoint)
    for prefix in LEARNER_PREFIXES:
        found = {key[len(prefix):]: value for key, value in weights.items()
                 if key.startswith(prefix)}
        if found:
            return found
    return weights


def load_learner_weights(learner: nn.Module, path: PathLike) -> nn.Module:
    """Load the learner weights of the checkpoint ``path`` into ``learner``
    (every key must match)."""
    learner.load_state_dict(learner_state(load_checkpoint_file(path)))
    return learner
