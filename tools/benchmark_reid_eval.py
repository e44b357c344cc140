"""Time the vectorised CMC/mAP against torchreid's Cython and Python ones.

Builds a Market-1501-sized ranking problem (3368 queries x 15913 gallery
items, 751 identities, 6 cameras, distractors with identity 0 in the gallery)
from random identity-clustered features, computes the distances with
torchreid, then times the evaluations in the same process, alternating
within each repeat, and checks that they agree. Speed is given as the
ratio of torchreid's median time to the vectorised median time.

torchreid's Cython evaluator is compiled from its ``rank_cy.pyx`` (see
brnpa_plugins/reid/cython_rank.py: ``--rank-pyx``, or the variable
``BRNPA_TORCHREID_RANK_PYX``; the torchreid package ships no such file);
when it cannot be built, the tool says why and times the other two.

    python tools/benchmark_reid_eval.py [--threads 1] [--repeats 5]
        [--python-repeats 3] [--rank-pyx PATH/rank_cy.pyx]
"""
import argparse
import contextlib
import io
import statistics
import sys
import time

from brnpa_plugins.core.noise import quiet_known_noise

quiet_known_noise()  # torchreid warns on import (core/noise.py)
import torchreid

import numpy as np
import torch

from brnpa_plugins.core.checks import check_positive_options
from brnpa_plugins.profiling import machine
from brnpa_plugins.reid.cython_rank import (CythonUnavailable,
                                            load_cython_evaluator)
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


def alternate(functions: dict, repeats: dict) -> dict:
    """Wall times of each function, run in turn within each repeat.

    Args:
        functions: name -> function without arguments.
        repeats: name -> how many runs it gets (the first repeats of the
            round).

    Returns:
        name -> (list of seconds, last result).
    """
    times = {name: [] for name in functions}
    results = {}
    for round_index in range(max(repeats.values())):
        for name, function in functions.items():
            if round_index < repeats[name]:
                start = time.perf_counter()
                results[name] = function()
                times[name].append(time.perf_counter() - start)
    return {name: (times[name], results[name]) for name in functions}


def spread(seconds) -> str:
    """'median (min-max, n runs)' of a list of wall times."""
    if len(seconds) == 1:
        return f'{seconds[0]:.3f} s (1 run)'
    return (f'{statistics.median(seconds):.3f} s ({min(seconds):.3f}-'
            f'{max(seconds):.3f}, {len(seconds)} runs)')


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--num-query', type=int, default=3368)
    parser.add_argument('--num-gallery', type=int, default=15913)
    parser.add_argument('--num-ids', type=int, default=751)
    parser.add_argument('--num-cams', type=int, default=6)
    parser.add_argument('--num-distractors', type=int, default=2793,
                        help='gallery images of identity 0 (background)')
    parser.add_argument('--dim', type=int, default=512)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--max-rank', type=int, default=50)
    parser.add_argument('--repeats', type=int, default=5,
                        help='runs of the vectorised and Cython evaluations')
    parser.add_argument('--python-repeats', type=int, default=3,
                        help="runs of torchreid's Python loop (about 100 s "
                        'each at the default size)')
    parser.add_argument('--threads', type=int, default=None,
                        help="torch's threads (default: torch's own count)")
    parser.add_argument('--rank-pyx', default=None,
                        help="torchreid's rank_cy.pyx to compile (default: "
                        'BRNPA_TORCHREID_RANK_PYX or the installed '
                        "torchreid's)")
    parser.add_argument('--build-dir', default=None,
                        help='where the compiled evaluator is kept '
                        '(default: ~/.cache/brnpa_plugins/torchreid_rank_cy)')
    args = parser.parse_args(argv)
    check_positive_options(parser, args, [
        'num_query', 'num_gallery', 'num_ids', 'num_cams', 'dim', 'max_rank',
        'repeats', 'python_repeats', 'threads'])
    if not 0 <= args.num_distractors < args.num_gallery:
        parser.error('--num-distractors must be >= 0 and below '
                     '--num-gallery')
    if args.threads:
        torch.set_num_threads(args.threads)

    print('Command line: python tools/benchmark_reid_eval.py '
          + ' '.join(sys.argv[1:] if argv is None else argv))
    print(f'Machine: {machine("cpu")}')
    problem = market_sized_problem(args.num_query, args.num_gallery,
                                   args.num_ids, args.num_cams,
                                   args.num_distractors, args.dim, args.seed)
    print(f'{args.num_query} queries x {args.num_gallery} gallery, '
          f'{args.num_ids} identities, {args.num_cams} cameras, max_rank '
          f'{args.max_rank}')
    functions = {
        'vectorised': lambda: evaluate_rank(*problem, args.max_rank),
        'torchreid Python': lambda: torchreid.metrics.evaluate_rank(
            *problem, args.max_rank, use_cython=False),
    }
    repeats = {'vectorised': args.repeats,
               'torchreid Python': args.python_repeats}
    try:
        evaluate_cy = load_cython_evaluator(args.rank_pyx, args.build_dir)
    except CythonUnavailable as error:
        print("Note: torchreid's Cython evaluator is not measured: "
              f'{error}')
    else:
        functions['torchreid Cython'] = lambda: evaluate_cy(
            *problem, args.max_rank, False)
        repeats['torchreid Cython'] = args.repeats
    with contextlib.redirect_stdout(io.StringIO()):  # torchreid's notes
        for name in functions.keys() - {'torchreid Python'}:
            functions[name]()  # warm-up (the Python loop takes minutes)
        measured = alternate(functions, repeats)

    fast_times, (cmc, mAP) = measured.pop('vectorised')
    fast = statistics.median(fast_times)
    print(f'vectorised: {spread(fast_times)}')
    agree = True
    for name, (times, (ref_cmc, ref_map)) in measured.items():
        same_cmc = np.array_equal(cmc, ref_cmc)
        if name == 'torchreid Python':
            same_map = mAP == ref_map
            agreement = 'identical' if same_cmc and same_map else 'DIFFERENT'
        else:  # float32 sums of average precision
            same_map = abs(mAP - ref_map) <= 1e-5 * abs(mAP)
            agreement = (f'CMC identical, mAP {ref_map:.7f} vs {mAP:.7f}'
                         if same_cmc and same_map else 'DIFFERENT')
        agree &= same_cmc and same_map
        print(f'{name}: {spread(times)}   speed-up (median / median): '
              f'{statistics.median(times) / fast:.1f}x   {agreement}')
    print(f'rank-1 {cmc[0]:.4f}  mAP {mAP:.4f}  agrees with torchreid: '
          f'{agree}')
    return 0 if agree else 1


if __name__ == '__main__':
    raise SystemExit(main())
