"""Show which body parts decided a match: ranked BR-NPA maps of a query and
of its top-k gallery matches, one PNG per query.

Each row is one image drawn by :func:`brnpa_plugins.core.render_ranked_maps`
(the image, the top-3 maps as R, G, B, then one heatmap per ranked part); the
query comes first, then its matches in ranking order, titled with their rank,
distance and whether they are the same person. Gallery items with the query's
identity and camera are left out, as in torchreid's evaluation.

:func:`visualize_actmap` is the BR-NPA counterpart of torchreid's
``visualize_actmap``: every query and gallery image with its attention maps
overlaid, written to ``save_dir/actmap/<dataset>/<query|gallery>/``.

Both accept a model wrapped in ``nn.DataParallel``: features are computed
through the wrapper, the maps through the model inside it.
"""
import os.path as osp
from typing import List, Sequence

import numpy as np
import torch
from PIL import Image

from brnpa_plugins.core import render_ranked_maps, save_png
from brnpa_plugins.core.maps import min_max_normalize, upsample
from brnpa_plugins.core.render import heat_colormap

from .engine import collect_features, unwrap
from .metrics import compute_distmat


def top_matches(distmat: np.ndarray, q_pids, g_pids, q_camids, g_camids,
                topk: int) -> np.ndarray:
    """Q x k gallery indices of the closest valid matches of each query.

    k is ``min(topk, num_gallery)``; a query with fewer valid gallery items
    is padded with -1.
    """
    if topk < 1:
        raise ValueError(f'topk must be >= 1, got {topk}')
    distmat = np.asarray(distmat, dtype=np.float64)
    junk = (np.asarray(q_pids)[:, None] == np.asarray(g_pids)[None]) & \
        (np.asarray(q_camids)[:, None] == np.asarray(g_camids)[None])
    distmat = np.where(junk, np.inf, distmat)
    order = np.argsort(distmat, axis=1, kind='stable')[:, :topk]
    return np.where(np.isinf(np.take_along_axis(distmat, order, 1)), -1,
                    order)


def load_display_image(path: str, height: int, width: int) -> np.ndarray:
    """An image file as H x W x 3 uint8, at the model's input size."""
    with Image.open(path) as image:
        return np.asarray(image.convert('RGB').resize((width, height),
                                                      Image.BILINEAR))


def stack_rows(rows: Sequence[Image.Image], gap: int = 6) -> Image.Image:
    """Stack images vertically on white, left-aligned."""
    width = max(row.width for row in rows)
    height = sum(row.height for row in rows) + gap * (len(rows) - 1)
    canvas = Image.new('RGB', (width, height), (255, 255, 255))
    top = 0
    for row in rows:
        canvas.paste(row, (0, top))
        top += row.height + gap
    return canvas


def _attending(model):
    """The BR-NPA model (inside DataParallel if wrapped); TypeError if the
    model has no ``attend``."""
    network = unwrap(model)
    if not callable(getattr(network, 'attend', None)):
        raise TypeError(f'{type(network).__name__} has no attend(x) method: '
                        'the maps come from a BR-NPA re-ID model.')
    return network


def overlay_maps(image: np.ndarray, attention: torch.Tensor,
                 norm: torch.Tensor, activity=None,
                 opacity: float = 0.5) -> Image.Image:
    """One image beside its activation overlays, side by side.

    Panels: the image; the sum of the N attention maps times the
    feature-norm map (where the model looked, as torchreid's activation map
    shows where features are strong); then each ranked part map (attention
    times norm) over the image. Maps are upsampled to the image size and
    min-max normalised per panel.

    Args:
        image: H x W x 3 uint8.
        attention: N x h x w maps; norm: h x w; activity: N (for the order).
    """
    height, width = image.shape[:2]
    maps = attention.float() * norm.float()
    if activity is not None:
        order = torch.as_tensor(activity).argsort(descending=True,
                                                  stable=True)
        maps = maps[order]
    panels = torch.cat([maps.sum(0, keepdim=True), maps])
    panels = min_max_normalize(upsample(panels, (height, width)))
    base = image.astype(np.float64)
    pieces = [image]
    for panel in panels.cpu().numpy():
        heat = heat_colormap(panel).astype(np.float64)
        pieces.append(((1 - opacity) * base + opacity * heat).round()
                      .astype(np.uint8))
    gap = np.full((height, 4, 3), 255, dtype=np.uint8)
    row = [piece for p in pieces for piece in (p, gap)][:-1]
    return Image.fromarray(np.concatenate(row, axis=1))


def _target(datamanager, dataset_name: str) -> str:
    """``dataset_name``, or the first target, checked against the loaders."""
    dataset_name = dataset_name or datamanager.targets[0]
    if dataset_name not in datamanager.test_loader:
        raise ValueError(f'unknown target {dataset_name!r}; the data manager '
                         f'has {list(datamanager.test_loader)}')
    return dataset_name


@torch.no_grad()
def visualize_actmap(model,
                     datamanager,
                     save_dir: str,
                     dataset_name: str = '',
                     max_images: int = 0,
                     batch_size: int = 32) -> List[str]:
    """Overlay the BR-NPA maps on every query and gallery image.

    Writes ``save_dir/actmap/<dataset>/<query|gallery>/<image name>.png``
    (see :func:`overlay_maps` for the panels).

    Args:
        model: a BR-NPA re-ID model, possibly in ``nn.DataParallel``.
        datamanager: a ``torchreid.data.ImageDataManager``.
        save_dir: output folder (``actmap`` is created inside).
        dataset_name: target dataset; defaults to the first one.
        max_images: at most this many images per split (0: all).
        batch_size: images per forward pass.

    Returns:
        The paths of the written PNG files.
    """
    network = _attending(model)
    if max_images < 0:
        raise ValueError(f'max_images must be >= 0, got {max_images}')
    dataset_name = _target(datamanager, dataset_name)
    network.eval()
    device = next(network.parameters()).device
    written = []
    for split in ('query', 'gallery'):
        dataset = datamanager.test_loader[dataset_name][split].dataset
        count = len(dataset) if not max_images else \
            min(max_images, len(dataset))
        folder = osp.join(save_dir, 'actmap', dataset_name, split)
        for start in range(0, count, batch_size):
            indices = range(start, min(start + batch_size, count))
            images = torch.stack([dataset[i]['img'] for i in indices])
            parts = network.attend(images.to(device))
            for row, index in enumerate(indices):
                path = dataset.data[index][0]
                figure = overlay_maps(
                    load_display_image(path, datamanager.height,
                                       datamanager.width),
                    parts.attention[row], parts.norm[row],
                    parts.activity[row].tolist())
                name = osp.splitext(osp.basename(path))[0]
                written.append(save_png(figure,
                                        osp.join(folder, f'{name}.png')))
    return written


@torch.no_grad()
def visualize_matches(model,
                      datamanager,
                      save_dir: str,
                      dataset_name: str = '',
                      num_queries: int = 8,
                      topk: int = 5,
                      dist_metric: str = 'euclidean',
                      normalize_feature: bool = False) -> List[str]:
    """Write one PNG per query with the maps of the query and its matches.

    Args:
        model: a BR-NPA re-ID model (it needs ``attend``), possibly
            wrapped in ``nn.DataParallel``.
        datamanager: a ``torchreid.data.ImageDataManager``.
        save_dir: output folder.
        dataset_name: target dataset; defaults to the first one.
        num_queries: how many queries (the first ones of the query set).
        topk: matches shown per query.
        dist_metric, normalize_feature: how the gallery is ranked, as in
            torchreid's ``test`` settings.

    Returns:
        The paths of the written PNG files.
    """
    network = _attending(model)
    if num_queries < 1:
        raise ValueError(f'num_queries must be >= 1, got {num_queries}')
    dataset_name = _target(datamanager, dataset_name)
    model.eval()
    device = next(model.parameters()).device
    loaders = datamanager.test_loader[dataset_name]
    query_set, gallery_set = (loaders[part].dataset
                              for part in ('query', 'gallery'))
    qf, q_pids, q_camids = collect_features(loaders['query'], model, device)
    gf, g_pids, g_camids = collect_features(loaders['gallery'], model,
                                            device)
    distmat = compute_distmat(qf, gf, dist_metric, normalize_feature)
    queries = np.arange(min(num_queries, len(qf)))
    matches = top_matches(distmat[queries], q_pids[queries], g_pids,
                          q_camids[queries], g_camids, topk)

    written = []
    for query in queries:
        shown = [m for m in matches[query] if m >= 0]
        items = [(query_set, query, f'query id {q_pids[query]}')]
        items += [(gallery_set, match,
                   f'#{rank} d={distmat[query, match]:.2f} ' +
                   ('same id' if g_pids[match] == q_pids[query] else 'other'))
                  for rank, match in enumerate(shown, start=1)]
        images = torch.stack([data[index]['img'] for data, index, _ in items])
        parts = network.attend(images.to(device))
        rows = [
            render_ranked_maps(
                load_display_image(data.data[index][0], datamanager.height,
                                   datamanager.width), parts.attention[i],
                parts.norm[i], parts.activity[i].tolist(), title)
            for i, (data, index, title) in enumerate(items)
        ]
        name = osp.splitext(osp.basename(query_set.data[query][0]))[0]
        written.append(save_png(stack_rows(rows),
                                osp.join(save_dir, f'{name}.png')))
    return written
