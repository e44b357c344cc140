"""Build the data, model and engine a re-ID config describes."""
from typing import Optional

import torch
import torchreid
from torch import nn
from yacs.config import CfgNode

from ..core.checks import errors_naming
from .checkpoint import load_weights
from .config import imagedata_kwargs
from .data import check_reid_roots
from .engine import (ImageDistillationEngine, ImageSoftmaxEngine,
                     ImageTripletEngine)
from .models import BACKBONES, build_brnpa_reid


def use_gpu(cfg: CfgNode) -> bool:
    return bool(cfg.use_gpu) and torch.cuda.is_available()


def brnpa_kwargs(cfg: CfgNode) -> dict:
    """The grouping options ``model.brnpa.*`` as keyword arguments."""
    return {key: cfg.model.brnpa[key] for key in cfg.model.brnpa}


def build_datamanager(cfg: CfgNode):
    """torchreid's ImageDataManager, after checking the dataset folders."""
    check_reid_roots(cfg.data.root,
                     list(cfg.data.sources) + list(cfg.data.targets),
                     cfg.market1501.use_500k_distractors)
    kwargs = imagedata_kwargs(cfg)
    kwargs['use_gpu'] = use_gpu(cfg)
    return torchreid.data.ImageDataManager(**kwargs)


def build_model(cfg: CfgNode,
                num_classes: int,
                name: str = '',
                loss: str = '',
                pretrained: Optional[bool] = None) -> nn.Module:
    """A model by name: BR-NPA models get the ``model.*`` BR-NPA options,
    other names go to torchreid's factory unchanged.

    Args:
        cfg: the config.
        num_classes: training identities.
        name: model name; defaults to ``model.name``.
        loss: defaults to ``loss.name``.
        pretrained: ImageNet weights; defaults to ``model.pretrained``.
    """
    name, loss = name or cfg.model.name, loss or cfg.loss.name
    if pretrained is None:
        pretrained = cfg.model.pretrained
    if name in BACKBONES:
        model = build_brnpa_reid(name, num_classes, loss,
                                 pretrained=pretrained,
                                 num_parts=cfg.model.num_parts,
                                 embedding_dim=cfg.model.embedding_dim,
                                 dropout=cfg.model.dropout,
                                 part_logits=cfg.model.part_logits,
                                 **brnpa_kwargs(cfg))
    else:
        model = torchreid.models.build_model(name, num_classes, loss=loss,
                                             pretrained=pretrained,
                                             use_gpu=use_gpu(cfg))
    return model.cuda() if use_gpu(cfg) else model


def parallelize(cfg: CfgNode, model: nn.Module) -> nn.Module:
    """Wrap the model in ``nn.DataParallel`` as ``data_parallel`` asks.

    ``'auto'``: when ``use_gpu`` finds more than one CUDA device (torchreid's
    main.py wraps whenever it uses the GPU); ``'always'``: also on one
    device or on the CPU (where DataParallel calls the model directly);
    ``'never'``: not at all. Checkpoints are saved without the wrapper's
    ``module.`` prefix either way.
    """
    devices = torch.cuda.device_count() if use_gpu(cfg) else 0
    if cfg.data_parallel == 'always' or (cfg.data_parallel == 'auto'
                                         and devices > 1):
        print(f'Model wrapped in nn.DataParallel over {devices} CUDA '
              f'device(s) (data_parallel={cfg.data_parallel!r})')
        return nn.DataParallel(model)
    return model


def build_engine(cfg: CfgNode, datamanager, model: nn.Module, optimizer,
                 scheduler):
    """The engine for ``loss.name``, or distillation when
    ``distill.teacher_weights`` is set."""
    gpu = use_gpu(cfg)
    if cfg.distill.teacher_weights:
        if not cfg.distill.teacher_name:
            raise ValueError('distill.teacher_weights is set but '
                             'distill.teacher_name is empty: name the '
                             "teacher's model, e.g. brnpa_resnet50.")
        teacher = build_model(cfg, datamanager.num_train_pids,
                              name=cfg.distill.teacher_name, loss='softmax',
                              pretrained=False)
        with errors_naming('cannot load the teacher weights '
                           'distill.teacher_weights='
                           f'{cfg.distill.teacher_weights!r}'):
            load_weights(teacher, cfg.distill.teacher_weights)
        return ImageDistillationEngine(datamanager, model, teacher, optimizer,
                                       temperature=cfg.distill.temperature,
                                       alpha=cfg.distill.alpha,
                                       scheduler=scheduler, use_gpu=gpu)
    if cfg.loss.name == 'softmax':
        return ImageSoftmaxEngine(
            datamanager, model, optimizer, scheduler=scheduler, use_gpu=gpu,
            label_smooth=cfg.loss.softmax.label_smooth)
    if cfg.loss.name == 'triplet':
        return ImageTripletEngine(
            datamanager, model, optimizer,
            margin=cfg.loss.triplet.margin,
            weight_t=cfg.loss.triplet.weight_t,
            weight_x=cfg.loss.triplet.weight_x,
            scheduler=scheduler, use_gpu=gpu,
            label_smooth=cfg.loss.softmax.label_smooth)
    raise ValueError(f"loss.name must be 'softmax' or 'triplet', got "
                     f'{cfg.loss.name!r}')
