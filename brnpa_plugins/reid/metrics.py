"""CMC and mAP of a query-gallery ranking: vectorised, torchreid's numbers.

:func:`evaluate_rank` applies the Market-1501 protocol of
``torchreid.metrics.evaluate_rank``: gallery items with the query's identity
AND camera are discarded, queries without any remaining correct match are
skipped. It returns the float32 CMC and float64 mAP of torchreid's Python
evaluation, bit for bit.

Instead of sorting every gallery row with indices, it only locates each
query's correct matches: the position of a match in the ranking is the number
of other identities closer to the query plus the number of closer matches.
Rows where a match ties in distance with another identity, or that hold NaN,
depend on the tie order of ``np.argsort``; those rows are ranked with
``np.argsort`` exactly as torchreid ranks them.

:func:`evaluate_cuhk03` is the single-gallery-shot protocol of CUHK03
(torchreid's ``use_metric_cuhk03=True``) without a Python loop over
queries: it draws the same random samples from numpy's global generator, in
the same order, and returns the same numbers.

The CMC curve of both has :func:`cmc_length` ``= min(max_rank, gallery
size)`` entries on every problem: the length torchreid's Cython evaluator
(``rank_cy``, what ``torchreid.metrics.evaluate_rank`` runs when it is
compiled) returns. Entry ``r - 1`` is the fraction of valid queries whose
first correct match is within the first ``r`` items they keep (CUHK03: the
first ``r`` identities of the one-shot gallery); a query that keeps fewer
than ``r`` has found its match by then and counts as found. torchreid's two
evaluations disagree with each other only where some valid query keeps
fewer items (CUHK03: gallery identities) than that length, which happens
when the gallery is barely larger than ``max_rank``:

- its Python loop stops each query's curve at what the query keeps: if all
  valid queries keep the same number ``k``, it returns ``k`` entries
  (equal to the first ``k`` here; the others here are 1); if they keep
  different numbers, numpy cannot stack the curves and it raises
  ``ValueError``;
- its Cython evaluator returns the full length, but past what a query keeps
  it reads the values an earlier query left in its buffer (Market-1501; 0
  where no earlier query reached that rank) or 0 (CUHK03): a query that
  found its match can count as not found.

Elsewhere the CMC is bit for bit that of both paths; the Cython path sums
average precisions in float32 (mAP within about 1e-6 of the float64 one
here) and averages the CUHK03 repeats by adding 1/10 in float32 (CMC within
float32 rounding).
"""
from typing import NamedTuple, Tuple

import numpy as np
import torch
import torch.nn.functional as F
import torchreid

from brnpa_plugins.core.checks import check_positive_int

#: Rows sorted at once; bounds the memory of the sorted copies.
ROW_CHUNK = 256
#: Random gallery samples per query in the CUHK03 protocol (torchreid's).
CUHK03_REPEATS = 10


class Hits(NamedTuple):
    """Where each correct match of each query lands in its ranking.

    Attributes:
        query: query index of each correct match.
        position: 0-based rank of the match among the kept gallery items.
        order: 1-based rank of the match among the query's correct matches.
    """
    query: np.ndarray
    position: np.ndarray
    order: np.ndarray


def cmc_length(max_rank: int, num_gallery: int) -> int:
    """Entries of the CMC curve: ``min(max_rank, num_gallery)``, whatever
    the queries discard (torchreid's Cython evaluator's length)."""
    return int(min(max_rank, num_gallery))


def _check_inputs(distmat, q_pids, g_pids, q_camids, g_camids):
    distmat = np.asarray(distmat)
    if distmat.ndim != 2:
        raise ValueError('distmat must be a num_query x num_gallery matrix, '
                         f'got shape {distmat.shape}')
    arrays = [np.asarray(a).ravel() for a in (q_pids, g_pids, q_camids,
                                              g_camids)]
    names = ('q_pids', 'g_pids', 'q_camids', 'g_camids')
    for name, array, size in zip(names, arrays, distmat.shape * 2):
        if len(array) != size:
            raise ValueError(
                f'{name} has {len(array)} entries but distmat is '
                f'{distmat.shape[0]} x {distmat.shape[1]} (queries x gallery)')
    return (distmat, *arrays)


def _same_identity_pairs(q_pids, g_pids):
    """All (query, gallery) index pairs sharing an identity, query-major."""
    by_pid = np.argsort(g_pids, kind='stable')
    sorted_pids = g_pids[by_pid]
    start = np.searchsorted(sorted_pids, q_pids, side='left')
    count = np.searchsorted(sorted_pids, q_pids, side='right') - start
    query = np.repeat(np.arange(len(q_pids)), count)
    first_pair = np.cumsum(count) - count
    offset = np.arange(len(query)) + np.repeat(start - first_pair, count)
    return query, by_pid[offset], first_pair


def _count_below(sorted_rows, rows, values, inclusive):
    """Per value, how many entries of its sorted row are < (or <=) it.

    A binary search run for all values at once (a row-wise searchsorted).
    """
    low = np.zeros(len(values), dtype=np.int64)
    high = np.full(len(values), sorted_rows.shape[1], dtype=np.int64)
    last = sorted_rows.shape[1] - 1
    while True:
        active = low < high
        if not active.any():
            return low
        middle = (low + high) // 2
        probe = sorted_rows[rows, np.minimum(middle, last)]
        right = (probe <= values) if inclusive else (probe < values)
        low = np.where(active & right, middle + 1, low)
        high = np.where(active & ~right, middle, high)


def _run_bounds(query, distance):
    """Per element of query-major, distance-sorted pairs: its tie run.

    Returns the index of the first element of the run of equal (query,
    distance) and the index just past its end.
    """
    index = np.arange(len(query))
    new_run = np.ones(len(query), dtype=bool)
    new_run[1:] = (query[1:] != query[:-1]) | (distance[1:] != distance[:-1])
    run_start = np.maximum.accumulate(np.where(new_run, index, 0))
    is_end = np.append(new_run[1:], True)
    run_end = np.minimum.accumulate(
        np.where(is_end, index + 1, len(query))[::-1])[::-1]
    return run_start, run_end


def _hits_by_counting(distmat, query, gallery, first_pair, relevant):
    """Locate correct matches without ranking whole rows.

    Args:
        distmat: the distances.
        query, gallery, first_pair: the same-identity pairs of
            :func:`_same_identity_pairs`.
        relevant: per pair, whether the cameras differ (a correct match).

    Returns:
        The hits of the queries it could place, and a boolean mask of the
        queries that need the exact tie order of ``np.argsort``.
    """
    num_q = distmat.shape[0]
    distance = distmat[query, gallery]

    # Rank the same-identity items of each query among themselves.
    by_distance = np.lexsort((distance, query))
    query = query[by_distance]
    distance, relevant = distance[by_distance], relevant[by_distance]
    run_start, run_end = _run_bounds(query, distance)
    group_start = first_pair[query]
    relevant_seen = np.cumsum(relevant)
    order = relevant_seen - np.append(0, relevant_seen)[group_start]
    # From here on, only the correct matches.
    same_below = (run_start - group_start)[relevant]
    same_at_or_below = (run_end - group_start)[relevant]
    query, distance, order = (a[relevant] for a in (query, distance, order))
    all_below = np.empty(len(query), dtype=np.int64)
    all_at_or_below = np.empty(len(query), dtype=np.int64)
    needs_argsort = np.zeros(num_q, dtype=bool)
    rows = np.unique(query)
    for chunk in np.array_split(rows, max(1, -(-len(rows) // ROW_CHUNK))):
        sorted_rows = np.sort(distmat[chunk], axis=1)
        # np.sort puts NaN last; such rows need argsort's own order.
        needs_argsort[chunk] = sorted_rows[:, -1] != sorted_rows[:, -1]
        mine = (query >= chunk[0]) & (query <= chunk[-1])
        local = np.searchsorted(chunk, query[mine])
        all_below[mine] = _count_below(sorted_rows, local, distance[mine],
                                       False)
        all_at_or_below[mine] = _count_below(sorted_rows, local,
                                             distance[mine], True)
    others_below = all_below - same_below
    others_tied = all_at_or_below - same_at_or_below - others_below
    needs_argsort[query[others_tied > 0]] = True
    keep = ~needs_argsort[query]
    hits = Hits(query[keep], others_below[keep] + order[keep] - 1,
                order[keep])
    return hits, needs_argsort


def _hits_by_argsort(distmat, q_pids, g_pids, q_camids, g_camids, rows):
    """Locate correct matches of some queries by ranking their rows fully."""
    ranking = np.argsort(distmat[rows], axis=1)
    matches = g_pids[ranking] == q_pids[rows, None]
    kept = ~(matches & (g_camids[ranking] == q_camids[rows, None]))
    relevant = matches & kept
    position = np.cumsum(kept, axis=1) - 1
    order = np.cumsum(relevant, axis=1)
    row, column = np.nonzero(relevant)
    return Hits(rows[row], position[row, column], order[row, column])


def _average_precision(hits, num_kept, num_relevant, valid):
    """AP of each valid query, summed as torchreid sums it.

    torchreid sums a dense vector of precision terms whose length is the
    number of kept gallery items; numpy's pairwise summation rounds
    differently for other lengths, so queries are summed in blocks of equal
    length to reproduce the same float64 values.
    """
    terms = hits.order / (hits.position + 1.0)
    totals = np.zeros(len(num_kept))
    valid_rows = np.flatnonzero(valid)
    hit_order = np.argsort(hits.query, kind='stable')
    hit_query = hits.query[hit_order]
    for length in np.unique(num_kept[valid_rows]):
        group = valid_rows[num_kept[valid_rows] == length]
        for block in np.array_split(group, -(-len(group) // ROW_CHUNK)):
            lo = np.searchsorted(hit_query, block[0], side='left')
            hi = np.searchsorted(hit_query, block[-1], side='right')
            selected = hit_order[lo:hi]
            # Queries of other lengths can sit between those of this block.
            selected = selected[np.isin(hit_query[lo:hi], block)]
            dense = np.zeros((len(block), length))
            dense[np.searchsorted(block, hits.query[selected]),
                  hits.position[selected]] = terms[selected]
            totals[block] = dense.sum(axis=1)
    return totals[valid] / num_relevant[valid]


def evaluate_rank(distmat,
                  q_pids,
                  g_pids,
                  q_camids,
                  g_camids,
                  max_rank: int = 50,
                  use_metric_cuhk03: bool = False) -> Tuple[np.ndarray, float]:
    """CMC curve and mAP, as ``torchreid.metrics.evaluate_rank`` computes them.

    Args:
        distmat: num_query x num_gallery distances (smaller = more similar).
        q_pids, g_pids: identities of the queries and gallery items.
        q_camids, g_camids: their camera ids.
        max_rank: longest CMC rank computed; cut to the gallery size.
        use_metric_cuhk03: the single-gallery-shot protocol of CUHK03
            classic splits (:func:`evaluate_cuhk03`).

    Returns:
        (cmc, mAP): float32 CMC of :func:`cmc_length` entries and the mean
        average precision. Where a query keeps fewer gallery items than
        that, its curve is continued at 1 (the module's docstring says how
        torchreid's two evaluations differ there).
    """
    check_positive_int(int(max_rank) if isinstance(max_rank, np.integer)
                       else max_rank, 'max_rank')
    if use_metric_cuhk03:
        return evaluate_cuhk03(distmat, q_pids, g_pids, q_camids, g_camids,
                               max_rank)
    distmat, q_pids, g_pids, q_camids, g_camids = _check_inputs(
        distmat, q_pids, g_pids, q_camids, g_camids)
    num_q, num_g = distmat.shape
    query, gallery, first_pair = _same_identity_pairs(q_pids, g_pids)
    junk = g_camids[gallery] == q_camids[query]
    num_kept = num_g - np.bincount(query[junk], minlength=num_q)
    num_relevant = np.bincount(query[~junk], minlength=num_q)
    valid = num_relevant > 0
    if not valid.any():
        raise ValueError(
            'no query has a correct match in the gallery (its identity seen '
            'by another camera): check that the query and gallery sets come '
            'from the same dataset split.')

    hits, needs_argsort = _hits_by_counting(distmat, query, gallery,
                                            first_pair, ~junk)
    if needs_argsort.any():
        exact = _hits_by_argsort(distmat, q_pids, g_pids, q_camids, g_camids,
                                 np.flatnonzero(needs_argsort))
        hits = Hits(*(np.concatenate(pair) for pair in zip(hits, exact)))

    average_precision = _average_precision(hits, num_kept, num_relevant,
                                           valid)
    length = cmc_length(max_rank, num_g)
    first_hit = np.full(num_q, num_g)
    np.minimum.at(first_hit, hits.query, hits.position)
    found = np.cumsum(np.bincount(first_hit[valid], minlength=num_g + 1))
    cmc = found[:length].astype(np.float32) / float(valid.sum())
    return cmc, np.mean(average_precision)


def _no_valid_query():
    return ValueError(
        'no query has a correct match in the gallery (its identity seen by '
        'another camera): check that the query and gallery sets come from '
        'the same dataset split.')


def _cuhk03_chunk(distmat, q_pids, g_pids, q_camids, g_camids, codes,
                  num_codes, rows):
    """Rank some rows; return what the CUHK03 protocol needs of them.

    Returns ``(valid_rows, hits, num_kept, groups)``: the rows with a correct
    match, their hits (queries numbered as in ``rows``), kept gallery sizes,
    and the gallery identities each valid row keeps as ``(row of each
    group, count, first member in members, is the query's identity)`` plus
    ``members``, the kept positions grouped by identity in the order of
    their first appearance in the ranking, then by rank.
    """
    ranking = np.argsort(distmat[rows], axis=1)  # torchreid's own sort
    same = g_pids[ranking] == q_pids[rows, None]
    keep = ~(same & (g_camids[ranking] == q_camids[rows, None]))
    relevant = same & keep
    valid = relevant.any(axis=1)
    ranking, keep, relevant = ranking[valid], keep[valid], relevant[valid]
    valid_rows = rows[valid]
    position = np.cumsum(keep, axis=1) - 1
    order = np.cumsum(relevant, axis=1)
    row, column = np.nonzero(relevant)
    hits = Hits(valid_rows[row], position[row, column], order[row, column])

    # Kept items, row-major: by row, then by rank.
    row, column = np.nonzero(keep)
    kept_position = position[row, column]
    key = row * num_codes + codes[ranking[row, column]]
    # Identities by first appearance in each row (np.unique gives the first
    # index of each key in the row-major order, i.e. the best-ranked one).
    unique_keys, first, inverse = np.unique(key, return_index=True,
                                            return_inverse=True)
    first_position = kept_position[first][inverse]
    by_group = np.lexsort((kept_position, first_position, row))
    members = kept_position[by_group]
    group_key = key[by_group]
    new_group = np.ones(len(group_key), dtype=bool)
    new_group[1:] = group_key[1:] != group_key[:-1]
    starts = np.flatnonzero(new_group)
    counts = np.diff(np.append(starts, len(group_key)))
    group_row = row[by_group][starts]
    group_pid_is_query = (g_pids[ranking[row[by_group][starts],
                                         column[by_group][starts]]]
                          == q_pids[valid_rows[group_row]])
    return (valid_rows, hits, keep.sum(axis=1),
            (group_row, counts, starts, group_pid_is_query, members))


def evaluate_cuhk03(distmat,
                    q_pids,
                    g_pids,
                    q_camids,
                    g_camids,
                    max_rank: int = 50,
                    num_repeats: int = CUHK03_REPEATS
                    ) -> Tuple[np.ndarray, float]:
    """CMC and mAP of the CUHK03 single-gallery-shot protocol, vectorised.

    As ``torchreid.metrics.evaluate_rank(..., use_metric_cuhk03=True)``:
    gallery items with the query's identity and camera are discarded,
    queries without a correct match are skipped; for each query,
    ``num_repeats`` times, one kept gallery image of every identity is drawn
    at random and the CMC of that one-shot gallery is averaged; mAP is
    computed on the whole kept gallery. The draws come from numpy's global
    generator (``np.random.seed`` makes them repeatable) in torchreid's
    order (query, repeat, identity by first appearance in the ranking), by
    one ``np.random.randint`` call that consumes the generator as
    torchreid's ``np.random.choice`` calls do, so with the same seed the
    result is the same, bit for bit, and the generator ends in the same
    state.

    The CMC has :func:`cmc_length` entries; where a query's gallery holds
    fewer identities than that, its curve is continued at 1.
    """
    check_positive_int(int(max_rank) if isinstance(max_rank, np.integer)
                       else max_rank, 'max_rank')
    check_positive_int(num_repeats, 'num_repeats')
    distmat, q_pids, g_pids, q_camids, g_camids = _check_inputs(
        distmat, q_pids, g_pids, q_camids, g_camids)
    num_q, num_g = distmat.shape
    codes = np.unique(g_pids, return_inverse=True)[1].ravel()
    num_codes = int(codes.max()) + 1 if num_g else 1
    parts = [
        _cuhk03_chunk(distmat, q_pids, g_pids, q_camids, g_camids, codes,
                      num_codes, chunk)
        for chunk in np.array_split(np.arange(num_q),
                                    max(1, -(-num_q // ROW_CHUNK)))
        if len(chunk)
    ]
    valid_rows = np.concatenate([p[0] for p in parts])
    if not len(valid_rows):
        raise _no_valid_query()
    hits = Hits(*(np.concatenate([p[1][i] for p in parts])
                  for i in range(3)))
    # Group arrays of all chunks, numbered over the valid rows.
    row_offset = np.cumsum([0] + [len(p[0]) for p in parts])
    member_offset = np.cumsum([0] + [len(p[3][4]) for p in parts])
    group_row = np.concatenate([p[3][0] + o for p, o in
                                zip(parts, row_offset)])
    counts = np.concatenate([p[3][1] for p in parts])
    starts = np.concatenate([p[3][2] + o for p, o in
                             zip(parts, member_offset)])
    is_query = np.concatenate([p[3][3] for p in parts])
    members = np.concatenate([p[3][4] for p in parts])

    # Draws in torchreid's order: valid query, repeat, identity.
    num_valid = len(valid_rows)
    num_groups = np.bincount(group_row, minlength=num_valid)
    first_group = np.cumsum(num_groups) - num_groups
    block = np.repeat(np.arange(num_valid), num_groups * num_repeats)
    step = np.arange(len(block)) - np.repeat(
        np.cumsum(num_groups * num_repeats) - num_groups * num_repeats,
        num_groups * num_repeats)
    group = first_group[block] + step % num_groups[block]
    shot = block * num_repeats + step // num_groups[block]  # (query, repeat)
    drawn = members[starts[group] + np.random.randint(0, counts[group])]
    # The one-shot rank of the match: identities drawn ahead of it.
    match_position = np.empty(num_valid * num_repeats, dtype=np.int64)
    match_position[shot[is_query[group]]] = drawn[is_query[group]]
    rank = np.bincount(shot, weights=drawn < match_position[shot],
                       minlength=num_valid * num_repeats).astype(np.int64)

    length = cmc_length(max_rank, num_g)
    found = np.zeros((num_valid, length + 1), dtype=np.int64)
    np.add.at(found, (np.repeat(np.arange(num_valid), num_repeats),
                      np.minimum(rank, length)), 1)
    counted = np.cumsum(found[:, :length], axis=1)
    all_cmc = counted.astype(np.float32) / np.float32(num_repeats)
    cmc = all_cmc.sum(0) / float(num_valid)

    num_kept = np.zeros(num_q, dtype=np.int64)
    num_kept[valid_rows] = np.concatenate([p[2] for p in parts])
    valid = np.zeros(num_q, dtype=bool)
    valid[valid_rows] = True
    num_relevant = np.bincount(hits.query, minlength=num_q)
    average_precision = _average_precision(hits, num_kept, num_relevant,
                                           valid)
    return cmc, np.mean(average_precision)


def compute_distmat(query_features: torch.Tensor,
                    gallery_features: torch.Tensor,
                    metric: str = 'euclidean',
                    normalize: bool = False,
                    rerank: bool = False) -> np.ndarray:
    """Query x gallery distances, with torchreid's metrics and re-ranking.

    Args:
        query_features, gallery_features: Q x D and G x D features.
        metric: ``'euclidean'`` or ``'cosine'`` (torchreid's names).
        normalize: L2-normalise the features first.
        rerank: apply torchreid's k-reciprocal re-ranking.
    """
    if normalize:
        query_features = F.normalize(query_features, p=2, dim=1)
        gallery_features = F.normalize(gallery_features, p=2, dim=1)
    distance = torchreid.metrics.compute_distance_matrix
    distmat = distance(query_features, gallery_features, metric).numpy()
    if rerank:
        distmat = torchreid.utils.re_ranking(
            distmat,
            distance(query_features, query_features, metric).numpy(),
            distance(gallery_features, gallery_features, metric).numpy())
    return distmat


def format_results(cmc: np.ndarray, mAP: float, ranks=(1, 5, 10, 20)) -> str:
    """torchreid's result lines; ranks beyond the CMC curve are named, not
    indexed (torchreid's own print fails on them)."""
    lines = ['** Results **', f'mAP: {mAP:.1%}', 'CMC curve']
    lines += [f'Rank-{r:<3}: {cmc[r - 1]:.1%}' for r in ranks if r <= len(cmc)]
    beyond = [r for r in ranks if r > len(cmc)]
    if beyond:
        lines.append(f'(ranks {beyond} exceed the {len(cmc)} ranked gallery '
                     'items and are not reported)')
    return '\n'.join(lines)
