import contextlib
import io
import warnings

import numpy as np
import pytest
import torchreid

from brnpa_plugins.reid.metrics import evaluate_rank, format_results


def reference(*args, **kwargs):
    """torchreid's Python evaluation, silenced."""
    with warnings.catch_warnings(), \
            contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter('ignore')
        return torchreid.metrics.evaluate_rank(*args, use_cython=False,
                                               **kwargs)


def random_case(rng, num_q, num_g, num_ids, num_cams, distances):
    q_pids = rng.integers(0, num_ids, num_q)
    g_pids = rng.integers(0, num_ids, num_g)
    q_cams = rng.integers(0, num_cams, num_q)
    g_cams = rng.integers(0, num_cams, num_g)
    if distances == 'ties':  # few distinct values: many ties
        distmat = rng.integers(0, 4, (num_q, num_g)).astype(np.float32)
    elif distances == 'float64':
        distmat = rng.random((num_q, num_g))
    else:
        distmat = rng.random((num_q, num_g), dtype=np.float32)
        if distances == 'nan':
            distmat[rng.random(distmat.shape) < 0.05] = np.nan
    return distmat, q_pids, g_pids, q_cams, g_cams


def assert_identical(ours, theirs):
    cmc, mAP = ours
    ref_cmc, ref_map = theirs
    assert cmc.dtype == ref_cmc.dtype == np.float32
    np.testing.assert_array_equal(cmc, ref_cmc)
    assert mAP == ref_map  # bit for bit, not approximately


@pytest.mark.parametrize('distances', ['float32', 'float64', 'ties', 'nan'])
def test_random_rankings_give_torchreids_numbers(distances):
    rng = np.random.default_rng(len(distances))
    compared = 0
    for _ in range(60):
        case = random_case(rng, int(rng.integers(1, 30)),
                           int(rng.integers(60, 120)),
                           int(rng.integers(2, 10)), int(rng.integers(1, 5)),
                           distances)
        # Below the number of kept gallery items, where torchreid's curves
        # all have the same length (see the uneven-discard test).
        max_rank = int(rng.integers(1, 20))
        try:
            theirs = reference(*case, max_rank=max_rank)
        except AssertionError:  # no query has a valid match
            with pytest.raises(ValueError, match='no query has a correct'):
                evaluate_rank(*case, max_rank=max_rank)
            continue
        assert_identical(evaluate_rank(*case, max_rank=max_rank), theirs)
        compared += 1
    assert compared > 30


def test_queries_without_a_valid_match_are_skipped():
    # Query 0 only meets its identity in its own camera: it is skipped, and
    # query 1 has a distractor ranked before its match.
    distmat = np.array([[0.1, 0.5, 0.9], [0.3, 0.2, 0.4]], dtype=np.float32)
    case = (distmat, np.array([1, 2]), np.array([1, 3, 2]), np.array([0, 0]),
            np.array([0, 1, 1]))
    cmc, mAP = evaluate_rank(*case, max_rank=3)
    np.testing.assert_array_equal(cmc, [0, 0, 1])
    assert mAP == pytest.approx(1 / 3)
    assert_identical((cmc, mAP), reference(*case, max_rank=3))


def test_ties_follow_numpys_argsort_order():
    # Every distance is equal: the ranking is argsort's, as in torchreid.
    rng = np.random.default_rng(1)
    distmat = np.zeros((12, 40), dtype=np.float32)
    case = (distmat, rng.integers(0, 3, 12), rng.integers(0, 3, 40),
            rng.integers(0, 2, 12), rng.integers(0, 2, 40))
    assert_identical(evaluate_rank(*case, max_rank=10),
                     reference(*case, max_rank=10))


def test_max_rank_beyond_the_gallery_is_cut_to_its_size():
    rng = np.random.default_rng(2)
    distmat = rng.random((6, 9))
    pids = np.array([0, 1, 2, 0, 1, 2])
    case = (distmat, pids, np.tile([0, 1, 2], 3), np.full(6, 0),
            np.full(9, 1))  # queries and gallery seen by other cameras
    cmc, mAP = evaluate_rank(*case, max_rank=50)
    assert len(cmc) == 9 and cmc[-1] == 1
    assert_identical((cmc, mAP), reference(*case, max_rank=50))


def test_uneven_discards_near_the_gallery_size_give_a_full_curve():
    # Query 0 loses one gallery item (same identity and camera), query 1
    # none: torchreid cannot stack these curves, the curve here is full.
    distmat = np.array([[0.1, 0.2, 0.3], [0.1, 0.3, 0.2]])
    case = (distmat, np.array([1, 2]), np.array([1, 1, 2]), np.array([0, 0]),
            np.array([0, 1, 1]))
    with pytest.raises(ValueError):
        reference(*case, max_rank=3)
    cmc, _ = evaluate_rank(*case, max_rank=3)
    np.testing.assert_array_equal(cmc, [0.5, 1, 1])


def test_bad_shapes_are_named():
    with pytest.raises(ValueError, match='g_pids has 2 entries.*3 x 4'):
        evaluate_rank(np.zeros((3, 4)), np.zeros(3), np.zeros(2),
                      np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match='max_rank'):
        evaluate_rank(np.zeros((1, 1)), [0], [0], [0], [1], max_rank=0)


def test_results_skip_ranks_beyond_the_curve():
    text = format_results(np.array([0.5, 1.0], dtype=np.float32), 0.75,
                          ranks=[1, 2, 5])
    assert 'mAP: 75.0%' in text and 'Rank-1  : 50.0%' in text
    assert 'Rank-5' not in text and '[5] exceed the 2' in text
