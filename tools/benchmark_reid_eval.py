"""Time the vectorised CMC/mAP against torchreid's Python evaluation.

Builds a Market-1501-sized ranking problem (3368 queries x 15913 gallery
items, 751 identities, 6 cameras, distractors with identity 0 in the gallery)
from random identity-clustered features, computes the distances with
torchreid, then times both evaluations in the same process and checks that
they agree exactly.

    python tools/benchmark_reid_eval.py
"""
import argparse
import time
import warnings

import numpy as np
import torch

import torchreid
from brnpa_plugins.reid.metrics import compute_distmat, evaluate_rank


def market_sized_problem(num_query: int, num_gallery: int, num_ids: int,
                         num_cams: int, num_distractors: int, dim: int,
                         seed: int):
    """Distances, identities and cameras of a random re-ID test split.

    Identities 1..num_ids have a random feature centre; images are noisy
    copies of it. Gallery distractors (identity 0) are pure noise, like
    Market-1501's background images.
    """
    rng = np.random.default_rng(seed)
    q_pids = rng.integers(1, num_ids + 1, num_query)
    g_pids = np.concatenate([
        np.zeros(num_distractors, dtype=np.int64),
        rng.integers(1, num_ids + 1, num_gallery - num_distractors)
    ])
    q_camids = rng.integers(0, num_cams, num_query)
    g_camids = rng.integers(0, num_cams, num_gallery)
    centres = rng.standard_normal((num_ids + 1, dim)).astype(np.float32)
    centres[0] = 0

    def features(pids):
        noise = rng.standard_normal((len(pids), dim)).astype(np.float32)
        return torch.from_numpy(centres[pids] + 1.5 * noise)

    distmat = compute_distmat(features(q_pids), features(g_pids))
    return distmat, q_pids, g_pids, q_camids, g_camids


def timed(function, repeats: int):
    best, result = float('inf'), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--num-query', type=int, default=3368)
    parser.add_argument('--num-gallery', type=int, default=15913)
    parser.add_argument('--num-ids', type=int, default=751)
    parser.add_argument('--num-cams', type=int, default=6)
    parser.add_argument('--num-distractors', type=int, default=2793,
                        help='gallery images of identity 0 (background)')
    parser.add_argument('--dim', type=int, default=512)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--repeats', type=int, default=3,
                        help='best of N runs of the vectorised evaluation')
    args = parser.parse_args(argv)
    if not 0 <= args.num_distractors < args.num_gallery:
        parser.error('--num-distractors must be >= 0 and below '
                     '--num-gallery')

    problem = market_sized_problem(args.num_query, args.num_gallery,
                                   args.num_ids, args.num_cams,
                                   args.num_distractors, args.dim, args.seed)
    print(f'{args.num_query} queries x {args.num_gallery} gallery, '
          f'{args.num_ids} identities, {args.num_cams} cameras, '
          f'{torch.get_num_threads()} threads')
    fast_s, (fast_cmc, fast_map) = timed(lambda: evaluate_rank(*problem),
                                         args.repeats)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        slow_s, (ref_cmc, ref_map) = timed(
            lambda: torchreid.metrics.evaluate_rank(*problem,
                                                    use_cython=False), 1)
    identical = np.array_equal(fast_cmc, ref_cmc) and fast_map == ref_map
    print(f'torchreid (Python): {slow_s:.2f} s   vectorised: {fast_s:.3f} s'
          f'   speed-up: {slow_s / fast_s:.1f}x')
    print(f'rank-1 {fast_cmc[0]:.4f}  mAP {fast_map:.4f}  '
          f'identical to torchreid: {identical}')
    return 0 if identical else 1


if __name__ == '__main__':
    raise SystemExit(main())
