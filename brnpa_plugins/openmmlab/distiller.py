"""Knowledge distillation from a frozen teacher (spec section 2)."""
from typing import List

import torch
from mmengine.runner import load_checkpoint
from torch import Tensor, nn

from mmpretrain.models import ImageClassifier
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from ..core import check_distillation_args, distillation_loss
from ..core.checks import errors_naming, reject_unknown_kwargs

TEACHER_KEYS = ('config', 'checkpoint')
#: The arguments of BRNPADistiller that are not the student's.
DISTILLATION_KEYS = ('teacher', 'temperature', 'alpha')


def student_config(model_cfg: dict) -> dict:
    """The plain ``ImageClassifier`` config of a ``BRNPADistiller`` config.

    Its model has the distiller's ``state_dict`` keys, so a checkpoint saved
    while distilling loads into it.
    """
    if model_cfg.get('type') != 'BRNPADistiller':
        raise ValueError('student_config expects a BRNPADistiller model '
                         f'config, got type {model_cfg.get("type")!r}')
    student = {
        k: v
        for k, v in model_cfg.items() if k not in DISTILLATION_KEYS
    }
    return type(model_cfg)(student, type='ImageClassifier')


@MODELS.register_module()
@reject_unknown_kwargs
class BRNPADistiller(ImageClassifier):
    """An image classifier trained by distillation from a frozen teacher.

    The distiller *is* the student: it takes the student's
    :class:`ImageClassifier` arguments (``backbone``, ``neck``, ``head``...),
    so its ``state_dict`` keys are exactly those of the student and a
    checkpoint it saves loads into the plain student config, in
    ``tools/test.py`` as in ``mmpretrain.get_model``. A config therefore
    writes only what differs from the student's, for the BR-NPA recipe the
    strides and the teacher::

        _base_ = ['./brnpa-lowres_resnet50_8xb12_cub.py']
        model = dict(
            type='BRNPADistiller',
            backbone=dict(strides=(1, 2, 1, 1)),
            teacher=dict(config='...lowres...py', checkpoint='epoch_50.pth'))

    Training minimises ``brnpa_plugins.core.distillation_loss`` between the
    student's and the teacher's logits (the student's own ``head.loss`` is
    not used). The teacher is built from its config file (or a model-zoo
    name) and loaded with mmengine's ``load_checkpoint`` (local path or URL,
    ``strict=True``) the first time it is needed: in ``init_weights``, which
    the runner calls before training, or at the first ``loss``. Testing and
    inference use the student alone and never load the teacher.

    The teacher is kept out of the module tree, so it is not in
    ``parameters()`` (the optimizer and DDP never see it), not in the saved
    ``state_dict``, and ``train()`` never reaches it: it stays in eval mode,
    its BatchNorm statistics never change, and it runs under ``no_grad``. It
    follows the student to the device of the batch.

    Args:
        teacher (dict): ``config`` (path to the teacher's config file, or a
            model-zoo name) and ``checkpoint`` (path or URL of its weights).
            The teacher must predict the same classes and expect the same
            normalised input as the student.
        temperature (float): Softening temperature T > 0. Defaults to 1.
        alpha (float): Weight of the distillation term in [0, 1]; ``1 -
            alpha`` weighs the cross-entropy with the labels. Defaults to 1
            (the authors' default).
        **kwargs: The student's :class:`ImageClassifier` arguments.
    """

    def __init__(self,
                 teacher: dict,
                 temperature: float = 1.0,
                 alpha: float = 1.0,
                 **kwargs):
        if not isinstance(teacher, dict) or set(teacher) != set(TEACHER_KEYS):
            raise ValueError(
                'BRNPADistiller: teacher must be a dict with exactly the keys '
                f'{TEACHER_KEYS}, e.g. dict(config=\'configs/brnpa/brnpa-'
                'lowres_resnet50_8xb12_cub.py\', checkpoint=\'work_dirs/.../'
                f'epoch_50.pth\'); got {teacher!r}')
        try:
            check_distillation_args(temperature, alpha)
        except ValueError as error:
            raise ValueError(f'BRNPADistiller: {error}') from None
        super().__init__(**kwargs)
        self.teacher_cfg = dict(teacher)
        self.temperature = temperature
        self.alpha = alpha
        # Kept out of the module tree on purpose: see the class docstring.
        self.__dict__['_teacher'] = None

    def load_teacher(self) -> nn.Module:
        """The frozen teacher, built and loaded on the first call."""
        if self._teacher is None:
            from mmpretrain.apis import get_model
            config, checkpoint = (self.teacher_cfg[k] for k in TEACHER_KEYS)
            teacher = get_model(config, pretrained=False)
            with errors_naming('BRNPADistiller: cannot load the teacher '
                               'checkpoint model.teacher.checkpoint='
                               f'{checkpoint!r}'):
                load_checkpoint(teacher, checkpoint, map_location='cpu',
                                strict=True)
            self._check_same_normalisation(teacher)
            teacher.eval().requires_grad_(False)
            self.__dict__['_teacher'] = teacher.to(
                next(self.parameters()).device)
        return self._teacher

    def _check_same_normalisation(self, teacher: nn.Module) -> None:
        # The teacher sees the batch the student's preprocessor produced.
        ours, theirs = self.data_preprocessor, teacher.data_preprocessor
        for name in ('mean', 'std'):
            mine, other = getattr(ours, name, None), getattr(theirs, name, None)
            if (mine is None) != (other is None) or (
                    mine is not None
                    and not torch.allclose(mine.cpu(), other.cpu())):
                raise ValueError(
                    f'BRNPADistiller: the teacher '
                    f'{self.teacher_cfg["config"]!r} normalises its input '
                    f'with {name}={other}, the student with {name}={mine}; '
                    'both must see the same input: give them the same '
                    'data_preprocessor.')

    def init_weights(self) -> None:
        """Initialise the student, then load the teacher.

        Loading here makes a wrong teacher path fail before the first
        iteration rather than after the data loaders have started.
        """
        super().init_weights()
        self.load_teacher()

    def teacher_logits(self, inputs: Tensor) -> Tensor:
        """Logits of the frozen teacher for a preprocessed batch."""
        teacher = self.load_teacher()
        if next(teacher.parameters()).device != inputs.device:
            teacher.to(inputs.device)
        with torch.no_grad():
            return teacher(inputs, mode='tensor')

    def loss(self, inputs: Tensor, data_samples: List[DataSample]) -> dict:
        """The distillation loss of a batch: ``dict(loss_distill=...)``."""
        student_logits = self.head(self.extract_feat(inputs))
        labels = None
        if self.alpha < 1:
            labels = (torch.stack([s.gt_score for s in data_samples])
                      if 'gt_score' in data_samples[0] else torch.cat(
                          [s.gt_label for s in data_samples]))
        loss = distillation_loss(student_logits, self.teacher_logits(inputs),
                                 labels, self.temperature, self.alpha)
        return dict(loss_distill=loss)

    def extra_repr(self) -> str:
        return (f'teacher={self.teacher_cfg}, temperature={self.temperature}, '
                f'alpha={self.alpha}')
