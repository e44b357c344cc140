"""Runner hooks: watch the ranked maps train, checkpoint high-res stages."""
import os
from typing import Optional, Sequence

import numpy as np
import torch
from mmengine.dataset import pseudo_collate
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from torch import Tensor, nn

from mmpretrain.registry import DATASETS, HOOKS

from ..core import render_ranked_maps, save_png
from ..core.highres import HIGH_RESOLUTION_STAGES
from .heads import (ACTIVITY_FIELD, ATTENTION_FIELD, CONTRIBUTIONS_FIELD,
                    NORM_FIELD)


def model_input_images(inputs: Tensor, data_preprocessor: nn.Module) -> Tensor:
    """The images a model saw, as B x H x W x 3 uint8 RGB.

    Undoes the normalisation of mmpretrain's ``ClsDataPreprocessor`` (if it
    has ``mean``/``std``), so the result is the test pipeline's output
    (resized, cropped) in the channel order the model saw; with
    ``to_rgb=False`` the model saw OpenCV's BGR, which is flipped for display.

    Args:
        inputs: B x 3 x H x W batch as returned by the preprocessor.
        data_preprocessor: the model's ``data_preprocessor``.
    """
    images = inputs.detach().float()
    mean = getattr(data_preprocessor, 'mean', None)
    if mean is not None:
        images = images * data_preprocessor.std + mean
    if not getattr(data_preprocessor, 'to_rgb', False):
        images = images.flip(1)
    return images.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1)


def enable_gradient_checkpointing(backbone: nn.Module,
                                  stages: Sequence[str]) -> int:
    """Recompute the blocks of ``stages`` in the backward pass.

    mmpretrain's ResNet blocks checkpoint themselves when ``with_cp`` is
    set; its ``with_cp`` argument sets it on every stage, this sets it on
    the named ones only (the high-resolution stages cost the most memory).

    Returns:
        int: the number of blocks changed.
    """
    changed = 0
    for name in stages:
        stage = getattr(backbone, name, None)
        blocks = list(stage) if isinstance(stage, nn.Sequential) else []
        if not blocks or not all(hasattr(b, 'with_cp') for b in blocks):
            raise ValueError(
                f'gradient checkpointing: {type(backbone).__name__} has no '
                f'stage {name!r} made of blocks with a with_cp switch; use '
                "the names of mmpretrain ResNet stages ('layer1'..'layer4').")
        for block in blocks:
            block.with_cp = True
        changed += len(blocks)
    return changed


def _unwrap(model: nn.Module) -> nn.Module:
    return model.module if is_model_wrapper(model) else model


@HOOKS.register_module()
class GradientCheckpointingHook(Hook):
    """Gradient checkpointing of chosen backbone stages during training.

    Trades compute for memory: the activations of these stages are
    recomputed in the backward pass instead of stored.

    Args:
        stages (Sequence[str]): Backbone stages to checkpoint. Defaults to
            the two stages BR-NPA runs at high resolution.
    """
    priority = 'VERY_HIGH'

    def __init__(self, stages: Sequence[str] = HIGH_RESOLUTION_STAGES):
        if isinstance(stages, str) or not stages:
            raise ValueError('GradientCheckpointingHook: stages must be a '
                             f"non-empty list of stage names, got {stages!r}")
        self.stages = tuple(stages)

    def before_train(self, runner) -> None:
        enable_gradient_checkpointing(_unwrap(runner.model).backbone,
                                      self.stages)


@HOOKS.register_module()
class RankedMapsHook(Hook):
    """Save the ranked BR-NPA maps of a few fixed images every few epochs.

    Before training and after every ``interval`` training epochs, the model
    predicts ``num_images`` images of the chosen split, spread evenly over
    the dataset and always the same, and their maps are written as
    ``<work_dir>/<out_dir>/epoch_<e>/<k>_<image name>.png`` (rendered by
    ``brnpa_plugins.core.render_ranked_maps`` over the image the model saw),
    and also sent to the runner's visualizer, i.e. to TensorBoard when a
    ``TensorboardVisBackend`` is configured. It runs on the main process,
    and training never depends on these images.

    Args:
        num_images (int): How many images to follow. Defaults to 4.
        interval (int): Every how many epochs. Defaults to 1.
        split (str): Which dataloader of the config to take them from,
            ``'val'`` or ``'test'`` (its dataset and test-time pipeline).
            Defaults to ``'val'``.
        out_dir (str): Folder under the work dir. Defaults to
            ``'ranked_maps'``.
    """
    priority = 'LOW'
    SPLITS = ('val', 'test')

    def __init__(self,
                 num_images: int = 4,
                 interval: int = 1,
                 split: str = 'val',
                 out_dir: str = 'ranked_maps'):
        for name, value in (('num_images', num_images),
                            ('interval', interval)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f'RankedMapsHook: {name} must be a positive '
                                 f'integer, got {value!r}')
        if split not in self.SPLITS:
            raise ValueError(f'RankedMapsHook: split must be one of '
                             f'{self.SPLITS}, got {split!r}')
        self.num_images = num_images
        self.interval = interval
        self.split = split
        self.out_dir = out_dir
        self._batch: Optional[list] = None
        self._classes: Optional[Sequence[str]] = None

    def before_train(self, runner) -> None:
        loader_cfg = runner.cfg.get(f'{self.split}_dataloader')
        if not loader_cfg:
            raise ValueError(
                f'RankedMapsHook: the config has no {self.split}_dataloader '
                f'to take images from; set split to one of {self.SPLITS} '
                'that the config defines.')
        dataset = DATASETS.build(loader_cfg['dataset'])
        count = min(self.num_images, len(dataset))
        indices = np.linspace(0, len(dataset) - 1, count).round().astype(int)
        self._batch = [dataset[int(i)] for i in indices]
        self._classes = dataset.metainfo.get('classes')
        self._render(runner, epoch=0)

    def after_train_epoch(self, runner) -> None:
        if self.every_n_epochs(runner, self.interval):
            self._render(runner, epoch=runner.epoch + 1)

    def _render(self, runner, epoch: int) -> None:
        if not is_main_process():
            return
        model = _unwrap(runner.model)
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                data = model.data_preprocessor(pseudo_collate(self._batch),
                                               False)
                samples = model(**data, mode='predict')
        finally:
            model.train(was_training)
        images = model_input_images(data['inputs'], model.data_preprocessor)
        folder = os.path.join(runner.work_dir, self.out_dir, f'epoch_{epoch}')
        for index, (image, sample) in enumerate(zip(images.cpu().numpy(),
                                                    samples)):
            if ATTENTION_FIELD not in sample:
                raise ValueError(
                    'RankedMapsHook needs a BR-NPA model (BRNPANeck and '
                    'BRNPAHead): its predictions carry no attention maps.')
            name = os.path.splitext(os.path.basename(
                sample.get('img_path', f'image_{index}')))[0]
            figure = render_prediction(image, sample, self._classes)
            save_png(figure, os.path.join(folder, f'{index}_{name}.png'))
            runner.visualizer.add_image(f'ranked_maps/{index}_{name}',
                                        np.asarray(figure), step=epoch)


def render_prediction(image: np.ndarray, sample,
                      classes: Optional[Sequence[str]] = None):
    """The figure of one BR-NPA prediction (a predicted ``DataSample``):
    :func:`~brnpa_plugins.core.render_ranked_maps` over ``image`` (H x W x 3
    RGB, the image the model saw), titled with the predicted class and its
    score, each part labelled with its contribution to that class's logit.
    """
    label = int(sample.pred_label)
    name = classes[label] if classes else str(label)
    contributions = sample.get(CONTRIBUTIONS_FIELD)
    return render_ranked_maps(
        image, sample.get(ATTENTION_FIELD), sample.get(NORM_FIELD),
        sample.get(ACTIVITY_FIELD).tolist(),
        f'{name} {float(sample.pred_score[label]):.2f}',
        contributions=None if contributions is None else
        contributions[:, label].tolist())
