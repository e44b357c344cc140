"""Drop-in torchreid engines: safe checkpoints, fast evaluation, distillation.

:class:`ImageSoftmaxEngine` and :class:`ImageTripletEngine` are torchreid's
engines with three repairs, for any model:

- checkpoints hold plain numbers and load with ``weights_only=True``, are
  written atomically, and saving works without a learning-rate scheduler;
- evaluation uses the vectorised
  :func:`~brnpa_plugins.reid.metrics.evaluate_rank` (torchreid's numbers,
  without torchreid's slow Python loop);
- asking for CMC ranks beyond the gallery size no longer crashes.

:class:`ImageDistillationEngine` trains a student against a frozen teacher's
logits (spec section 2), e.g. a high-resolution BR-NPA model from a
low-resolution one.
"""
import os.path as osp
import time
from typing import Callable

import numpy as np
import torch
import torchreid
from torch import Tensor, nn

from brnpa_plugins.core import check_distillation_args, distillation_loss

from .checkpoint import save_checkpoint
from .metrics import compute_distmat, evaluate_rank, format_results


def unwrap(model: nn.Module) -> nn.Module:
    """The model inside ``nn.DataParallel`` (or the model itself)."""
    return model.module if isinstance(model, nn.DataParallel) else model


def _parse_test_batch(data):
    return data['img'], data['pid'], data['camid']


@torch.no_grad()
def collect_features(loader,
                     embed: Callable[[Tensor], Tensor],
                     device='cpu',
                     parse=_parse_test_batch):
    """Embed every image of a torchreid test loader.

    Args:
        loader: a query or gallery loader of a torchreid data manager.
        embed: images -> B x D features (a model in eval mode).
        device: where ``embed`` runs.
        parse: batch -> (images, pids, camids), torchreid's
            ``parse_data_for_eval``.

    Returns:
        (features N x D on the CPU, pids, camids as numpy arrays).
    """
    features, pids, camids = [], [], []
    for data in loader:
        images, batch_pids, batch_camids = parse(data)
        features.append(embed(images.to(device)).cpu())
        pids.append(np.asarray(batch_pids))
        camids.append(np.asarray(batch_camids))
    return torch.cat(features), np.concatenate(pids), np.concatenate(camids)


class SafeEngineMixin:
    """The repairs; put it before a torchreid engine class in the bases."""

    def save_model(self, epoch, rank1, save_dir, is_best=False):
        for name in self.get_model_names():
            state = {
                # Without DataParallel's "module." prefix: checkpoints are
                # the same on one device or several.
                'state_dict': unwrap(self._models[name]).state_dict(),
                'epoch': int(epoch) + 1,
                'rank1': float(rank1),
            }
            # torchreid's engine fails here when there is no scheduler; an
            # absent entry is also what torchreid's resume skips.
            for key, owner in (('optimizer', self._optims[name]),
                               ('scheduler', self._scheds[name])):
                if owner is not None:
                    state[key] = owner.state_dict()
            save_checkpoint(state, osp.join(save_dir, name), is_best=is_best)

    @torch.no_grad()
    def _evaluate(self,
                  dataset_name='',
                  query_loader=None,
                  gallery_loader=None,
                  dist_metric='euclidean',
                  normalize_feature=False,
                  visrank=False,
                  visrank_topk=10,
                  save_dir='',
                  use_metric_cuhk03=False,
                  ranks=(1, 5, 10, 20),
                  rerank=False):
        start = time.time()
        device = 'cuda' if self.use_gpu else 'cpu'
        qf, q_pids, q_camids = collect_features(query_loader,
                                                self.extract_features, device,
                                                self.parse_data_for_eval)
        gf, g_pids, g_camids = collect_features(gallery_loader,
                                                self.extract_features, device,
                                                self.parse_data_for_eval)
        print(f'Extracted {qf.shape[0]} query and {gf.shape[0]} gallery '
              f'features of size {qf.shape[1]} in {time.time() - start:.1f}s')
        distmat = compute_distmat(qf, gf, dist_metric, normalize_feature,
                                  rerank)
        cmc, mAP = evaluate_rank(distmat, q_pids, g_pids, q_camids, g_camids,
                                 use_metric_cuhk03=use_metric_cuhk03)
        print(format_results(cmc, mAP, ranks))
        if visrank:
            torchreid.utils.visualize_ranked_results(
                distmat,
                self.datamanager.fetch_test_loaders(dataset_name),
                self.datamanager.data_type,
                width=self.datamanager.width,
                height=self.datamanager.height,
                save_dir=osp.join(save_dir, 'visrank_' + dataset_name),
                topk=visrank_topk)
        return float(cmc[0]), float(mAP)


class ImageSoftmaxEngine(SafeEngineMixin,
                         torchreid.engine.ImageSoftmaxEngine):
    """torchreid's softmax engine with the repairs of :class:`SafeEngineMixin`.

    Same arguments as ``torchreid.engine.ImageSoftmaxEngine``.
    """


class ImageTripletEngine(SafeEngineMixin,
                         torchreid.engine.ImageTripletEngine):
    """torchreid's triplet engine with the repairs of :class:`SafeEngineMixin`.

    Same arguments as ``torchreid.engine.ImageTripletEngine``.
    """


class ImageDistillationEngine(ImageSoftmaxEngine):
    """Train a softmax model on a frozen teacher's logits (Hinton KD).

    The loss is :func:`brnpa_plugins.core.distillation_loss`:
    ``alpha * T^2 * KL(teacher || student) + (1 - alpha) * CE``.

    Args:
        datamanager: a ``torchreid.data.ImageDataManager``.
        model: the student, built with ``loss='softmax'``.
        teacher: the trained teacher; it must return logits from
            ``teacher.logits(x)`` (every BR-NPA re-ID model does) and
            predict the same identities as the student.
        optimizer: the student's optimizer.
        temperature (float): softening temperature T > 0. Defaults to 1.
        alpha (float): weight of the distillation term in [0, 1].
            Defaults to 1 (the authors' default).
        scheduler, use_gpu: as in ``ImageSoftmaxEngine``.
    """

    def __init__(self,
                 datamanager,
                 model: nn.Module,
                 teacher: nn.Module,
                 optimizer,
                 temperature: float = 1.0,
                 alpha: float = 1.0,
                 scheduler=None,
                 use_gpu: bool = True):
        super().__init__(datamanager, model, optimizer, scheduler, use_gpu)
        check_distillation_args(temperature, alpha)
        if getattr(unwrap(model), 'loss', 'softmax') != 'softmax':
            raise ValueError('the distillation student must be built with '
                             f"loss='softmax', got "
                             f'loss={unwrap(model).loss!r}')
        if not callable(getattr(teacher, 'logits', None)):
            raise TypeError(
                f'the teacher ({type(teacher).__name__}) has no logits(x) '
                'method: torchreid models return features in eval mode, so '
                'use a BR-NPA re-ID model (or add such a method).')
        # Not registered with the engine: it is never trained, switched to
        # train mode or saved.
        self.teacher = teacher.eval().requires_grad_(False)
        self.temperature = temperature
        self.alpha = alpha

    def forward_backward(self, data):
        images, pids = self.parse_data_for_train(data)
        if self.use_gpu:
            images, pids = images.cuda(), pids.cuda()
        logits = self.model(images)
        with torch.no_grad():
            teacher_logits = self.teacher.logits(images)
        loss = distillation_loss(logits, teacher_logits, pids,
                                 self.temperature, self.alpha)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        return {
            'loss': loss.item(),
            'acc': torchreid.metrics.accuracy(logits, pids)[0].item()
        }
