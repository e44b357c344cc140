"""Explain images with a trained BR-NPA model (mmpretrain).

    from brnpa_plugins.openmmlab import BRNPAInferencer

    inferencer = BRNPAInferencer(
        'configs/brnpa/brnpa-highres-kd_resnet50_8xb12_cub.py',
        pretrained='work_dirs/brnpa-highres-kd_resnet50_8xb12_cub/'
        'epoch_50.pth')
    results = inferencer(['bird1.jpg', 'bird2.jpg'], batch_size=2,
                         render=True, show_dir='maps/')
    results[0]['pred_class'], results[0]['ranked_maps'].shape  # N x H x W
"""
import os
from typing import List, Optional, Sequence, Union

import numpy as np
import torch
from PIL import Image

from mmpretrain.apis import ImageClassificationInferencer
from mmpretrain.structures import DataSample

from ..core import explanation_maps, save_png, upsample
from .heads import (ACTIVITY_FIELD, ATTENTION_FIELD, CONTRIBUTIONS_FIELD,
                    NORM_FIELD)
from .hooks import model_input_images, render_prediction

#: Field of each prediction holding the image the model saw (H x W x 3 RGB).
IMAGE_FIELD = 'input_image'


class BRNPAInferencer(ImageClassificationInferencer):
    """Predict classes and BR-NPA's ranked maps for a list of images.

    Everything is computed on the image the model actually saw, the output
    of the config's test pipeline (e.g. resized to 512 and centre-cropped
    to 448), not on the original file: the maps, their size and the
    rendered overlays all refer to that image, which each result carries.

    Args:
        model (str | Config | BaseModel): A config file (a distillation
            config works and never loads its teacher), a ``Config``, a
            model-zoo name (resolved by ``mmpretrain.get_model``) or a
            built model.
        pretrained (str | bool): Checkpoint path or URL; ``True`` takes the
            model zoo's weights for a name. Defaults to True.
        device (str, optional): Device to run on. Defaults to the available
            one.
        classes (Sequence[str], optional): Class names; defaults to those
            in the checkpoint or the dataset of the config.

    Calling it with a list of image paths, BGR arrays (OpenCV's order, as in
    mmpretrain) or PIL images returns one dict per image, in order:

    - ``pred_label``, ``pred_score``, ``pred_scores`` (and ``pred_class``
      when class names are known);
    - ``image``: H x W x 3 uint8 RGB, the image the model saw;
    - ``attention_maps`` (N x h x w), ``feature_norm`` (h x w),
      ``part_activity`` (N): BR-NPA's outputs at feature resolution, maps
      in rank order;
    - ``ranked_maps``: N x H x W in [0, 1], map k times the norm map,
      normalised and upsampled to ``image`` (what the paper shows);
    - ``part_contributions`` (N x K): what each part adds to each class
      logit, exactly (the N values of a class sum to its logit minus the
      head's bias), and ``pred_contributions`` (N): those of the predicted
      class, in the order of the maps;
    - ``overlay``: the rendered figure (PIL image), with ``render=True``,
      each part labelled with its contribution to the predicted class.

    ``batch_size`` images are predicted at once; ``show_dir`` also saves the
    figures there as PNG.
    """
    visualize_kwargs = {'render', 'show_dir'}

    def _inputs_to_list(self, inputs) -> list:
        inputs = super()._inputs_to_list(inputs)
        # mmpretrain's loader expects OpenCV's BGR order for arrays.
        return [
            np.ascontiguousarray(np.asarray(item.convert('RGB'))[..., ::-1])
            if isinstance(item, Image.Image) else item for item in inputs
        ]

    @torch.no_grad()
    def forward(self, inputs: dict, **kwargs) -> List[DataSample]:
        data = self.model.data_preprocessor(inputs, False)
        samples = self.model(**data, mode='predict')
        images = model_input_images(data['inputs'],
                                    self.model.data_preprocessor).cpu()
        for sample, image in zip(samples, images):
            if ATTENTION_FIELD not in sample:
                raise ValueError(
                    'BRNPAInferencer needs a BR-NPA model (BRNPANeck and '
                    f'BRNPAHead); {type(self.model).__name__} with neck '
                    f'{type(self.model.neck).__name__} returns no attention '
                    'maps. Use mmpretrain.ImageClassificationInferencer for '
                    'other models.')
            sample.set_field(image, IMAGE_FIELD, dtype=torch.Tensor)
        return samples

    def visualize(self,
                  ori_inputs: list,
                  preds: List[DataSample],
                  render: bool = False,
                  show_dir: Optional[str] = None
                  ) -> Optional[List[Image.Image]]:
        if not render and show_dir is None:
            return None
        figures = []
        for index, (item, sample) in enumerate(zip(ori_inputs, preds)):
            figure = render_prediction(sample.get(IMAGE_FIELD).numpy(),
                                       sample, self.classes)
            if show_dir is not None:
                stem = (os.path.splitext(os.path.basename(item))[0]
                        if isinstance(item, str) else str(index))
                save_png(figure, os.path.join(show_dir, f'{stem}.png'))
            figures.append(figure)
        return figures

    def postprocess(self,
                    preds: List[DataSample],
                    visualization: Optional[List[Image.Image]],
                    return_datasamples: bool = False) -> list:
        if return_datasamples:
            return preds
        results = super().postprocess(preds, visualization)
        for index, (result, sample) in enumerate(zip(results, preds)):
            image = sample.get(IMAGE_FIELD)
            attention = sample.get(ATTENTION_FIELD).float().cpu()
            norm = sample.get(NORM_FIELD).float().cpu()
            contributions = sample.get(CONTRIBUTIONS_FIELD).double().cpu()
            result.update(
                part_contributions=contributions.numpy(),
                pred_contributions=contributions[
                    :, int(sample.pred_label)].numpy(),
                image=image.numpy(),
                attention_maps=attention.numpy(),
                feature_norm=norm.numpy(),
                part_activity=sample.get(ACTIVITY_FIELD).float().cpu().numpy(),
                ranked_maps=upsample(explanation_maps(attention, norm),
                                     tuple(image.shape[:2])).numpy())
            if visualization is not None:
                result['overlay'] = visualization[index]
        return results


def explain_images(model: Union[str, object],
                   images: Union[str, np.ndarray, Image.Image, Sequence],
                   pretrained: Union[str, bool] = True,
                   device: Optional[str] = None,
                   batch_size: int = 8,
                   render: bool = False,
                   show_dir: Optional[str] = None) -> list:
    """One-call form of :class:`BRNPAInferencer` (same arguments/results)."""
    inferencer = BRNPAInferencer(model, pretrained=pretrained, device=device)
    return inferencer(images, batch_size=batch_size, render=render,
                      show_dir=show_dir)
