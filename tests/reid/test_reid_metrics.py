import contextlib
import json
import io
import warnings

import numpy as np
import pytest
import torchreid

from brnpa_plugins.reid import metrics
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


def assert_continues(ours, theirs):
    """torchreid's curve is the beginning of ours, which goes on at 1 (the
    match was found within everything a query keeps); same mAP."""
    cmc, mAP = ours
    assert_identical((cmc[:len(theirs[0])], mAP), theirs)
    assert len(cmc) >= len(theirs[0]) and (cmc[len(theirs[0]):] == 1).all()


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


def small_gallery_cases(seed, count):
    """Random problems around the CMC length's edge cases: galleries below
    and near max_rank, few cameras (queries whose every match is discarded
    as same-camera, galleries that shrink per query), few identities."""
    rng = np.random.default_rng(seed)
    for _ in range(count):
        case = random_case(rng, int(rng.integers(1, 25)),
                           int(rng.integers(3, 70)), int(rng.integers(1, 8)),
                           int(rng.integers(1, 4)), 'float32')
        yield case, int(rng.integers(1, 90))


def kept_counts(case, cuhk03):
    """Per query: the gallery items it keeps (CUHK03: their identities),
    and whether it has a correct match among them."""
    _, q_pids, g_pids, q_cams, g_cams = case
    kept, valid = [], []
    for pid, cam in zip(q_pids, q_cams):
        keep = ~((g_pids == pid) & (g_cams == cam))
        kept.append(len(set(g_pids[keep])) if cuhk03 else keep.sum())
        valid.append(bool((keep & (g_pids == pid)).any()))
    return np.array(kept), np.array(valid)


def query_by_query(case, max_rank, cuhk03):
    """torchreid's Python evaluation of each query on its own, its curves
    continued at their last value (1) to the full length and averaged as
    torchreid averages them: for problems whose curves it cannot stack."""
    distmat, q_pids, g_pids, q_cams, g_cams = case
    length = min(max_rank, distmat.shape[1])
    curves, average_precisions = [], []
    for i in range(len(q_pids)):
        try:
            cmc, ap = reference(distmat[i:i + 1], q_pids[i:i + 1], g_pids,
                                q_cams[i:i + 1], g_cams, max_rank=max_rank,
                                use_metric_cuhk03=cuhk03)
        except AssertionError:  # no correct match: torchreid skips it
            continue
        assert cmc[-1] == 1
        curves.append(np.pad(cmc, (0, length - len(cmc)), mode='edge'))
        average_precisions.append(ap)
    return (np.asarray(curves).sum(0) / float(len(curves)),
            np.mean(average_precisions))


@pytest.mark.parametrize('cuhk03', [False, True], ids=['market', 'cuhk03'])
def test_cmc_length_is_max_rank_cut_to_the_gallery_as_torchreid_gives(cuhk03):
    """min(max_rank, gallery) entries on every problem. Where torchreid's
    Python loop returns a curve, it is the beginning of ours and the rest
    is 1; where it cannot stack its per-query curves, ours is the average
    of torchreid's own curves of each query."""
    shorter = unstacked = 0
    for trial, (case, max_rank) in enumerate(small_gallery_cases(7, 150)):
        kept, valid = kept_counts(case, cuhk03)
        np.random.seed(trial)
        if not valid.any():
            with pytest.raises(ValueError, match='no query has a correct'):
                evaluate_rank(*case, max_rank, use_metric_cuhk03=cuhk03)
            continue
        cmc, mAP = evaluate_rank(*case, max_rank, use_metric_cuhk03=cuhk03)
        length = min(max_rank, case[0].shape[1])
        assert len(cmc) == metrics.cmc_length(max_rank, case[0].shape[1]) \
            == length
        np.random.seed(trial)
        try:
            theirs = reference(*case, max_rank=max_rank,
                               use_metric_cuhk03=cuhk03)
        except ValueError:  # curves of different lengths
            assert len(set(np.minimum(kept[valid], length))) > 1
            unstacked += 1
            np.random.seed(trial)
            theirs = query_by_query(case, max_rank, cuhk03)
        shorter += len(theirs[0]) < length
        assert_continues((cmc, mAP), theirs)
    assert shorter >= 5 and unstacked >= (0 if cuhk03 else 5)


def test_queries_that_discard_a_match_make_torchreids_curves_unstackable():
    # Query 0 loses one gallery item (same identity and camera), query 1
    # none: torchreid's Python loop cannot stack these curves.
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


@pytest.mark.parametrize('distances', ['float32', 'float64', 'ties', 'nan'])
def test_cuhk03_metric_gives_torchreids_numbers_and_random_state(
        distances, monkeypatch):
    """Same seed, same draws: bit-identical CMC and mAP, and numpy's global
    generator ends where torchreid leaves it. Rows are ranked in chunks of
    7 here, so several chunks are stitched together."""
    monkeypatch.setattr(metrics, 'ROW_CHUNK', 7)
    rng = np.random.default_rng(3)
    for trial in range(6):
        num_ids = int(rng.integers(2, 12))
        case = list(random_case(rng, int(rng.integers(1, 40)),
                                int(rng.integers(20, 60)), num_ids, 3,
                                distances))
        # Every identity in the gallery: torchreid stacks equal curves.
        case[2][:num_ids] = np.arange(num_ids)
        np.random.seed(trial)
        try:
            theirs = reference(*case, max_rank=50, use_metric_cuhk03=True)
        except AssertionError:  # no valid query: torchreid asserts
            np.random.seed(trial)
            with pytest.raises(ValueError, match='no query has a correct'):
                evaluate_rank(*case, use_metric_cuhk03=True)
            continue
        state = np.random.get_state()
        np.random.seed(trial)
        ours = evaluate_rank(*case, max_rank=50, use_metric_cuhk03=True)
        assert len(ours[0]) == min(50, len(case[2]))
        assert_continues(ours, theirs)  # galleries of < 50 identities
        after = np.random.get_state()
        assert after[2] == state[2] and (after[1] == state[1]).all()


def test_cuhk03_metric_runs_without_torchreids_query_loop(monkeypatch):
    """No per-identity np.random.choice calls (torchreid's inner loop)."""
    def refuse(*args, **kwargs):
        raise AssertionError('np.random.choice called')

    rng = np.random.default_rng(0)
    case = random_case(rng, 300, 400, 40, 2, 'float64')
    np.random.seed(0)
    theirs = reference(*case, max_rank=20, use_metric_cuhk03=True)
    monkeypatch.setattr(np.random, 'choice', refuse)
    np.random.seed(0)
    assert_identical(evaluate_rank(*case, max_rank=20,
                                   use_metric_cuhk03=True), theirs)
    with pytest.raises(AssertionError, match='choice called'):
        reference(*case, max_rank=20, use_metric_cuhk03=True)


def tiny_cuhk03(root, rng):
    """A CUHK03 folder torchreid's cuhk03 class reads without its .mat
    files' contents: the release files exist (checked), the images and the
    four split files torchreid writes on first use are already there.
    Classic split: 6 training identities, 4 test identities, 2 cameras x 2
    images each (query and gallery are the same test set, as in CUHK03)."""
    from PIL import Image
    base = root / 'cuhk03'
    (base / 'cuhk03_release').mkdir(parents=True)
    for name in ('cuhk03_release/cuhk-03.mat',
                 'cuhk03_new_protocol_config_detected.mat',
                 'cuhk03_new_protocol_config_labeled.mat'):
        (base / name).write_bytes(b'')
    (base / 'images_labeled').mkdir()
    images = base / 'images_detected'
    images.mkdir()

    def items(pids, relabel):
        out = []
        for label, pid in enumerate(pids):
            colours = np.random.default_rng(pid).integers(0, 256, (2, 3))
            for cam in (0, 1):
                for shot in range(2):
                    pixels = np.empty((64, 32, 3))
                    pixels[:32], pixels[32:] = colours
                    pixels += rng.normal(0, 20, pixels.shape)
                    path = images / f'1_{pid:03d}_{cam + 1}_{shot:02d}.png'
                    Image.fromarray(np.clip(pixels, 0, 255).astype(
                        np.uint8)).save(path)
                    out.append([str(path), label if relabel else pid, cam])
        return out

    test = items(range(7, 11), relabel=False)
    split = {'train': items(range(1, 7), relabel=True), 'query': test,
             'gallery': test, 'num_train_pids': 6, 'num_train_imgs': 24,
             'num_query_pids': 4, 'num_query_imgs': 16,
             'num_gallery_pids': 4, 'num_gallery_imgs': 16}
    for name in ('splits_classic_detected', 'splits_classic_labeled',
                 'splits_new_detected', 'splits_new_labeled'):
        (base / f'{name}.json').write_text(json.dumps([split]))


def test_cuhk03_metric_through_the_tool_and_torchreids_cuhk03_class(
        tmp_path, reid_tool, tiny, monkeypatch):
    """-s cuhk03 -t cuhk03 with cuhk03.use_metric_cuhk03: torchreid's data
    manager reads the classic split and the engine ranks with the
    vectorised protocol (np.random.choice, torchreid's way, is refused)."""
    tiny_cuhk03(tmp_path / 'data', np.random.default_rng(0))

    def refuse(*args, **kwargs):
        raise AssertionError('np.random.choice called')

    monkeypatch.setattr(np.random, 'choice', refuse)
    log = reid_tool('train_reid', [
        '-s', 'cuhk03', '-t', 'cuhk03', '--root', str(tmp_path / 'data'),
        *tiny, 'cuhk03.classic_split', 'True', 'cuhk03.use_metric_cuhk03',
        'True', 'data.save_dir', str(tmp_path / 'run')])
    assert 'Extracted 16 query and 16 gallery features' in log
    assert 'Rank-1' in log and 'mAP' in log


@pytest.fixture(scope='module')
def cython_evaluate(tmp_path_factory):
    """torchreid's Cython evaluate_cy, built from its rank_cy.pyx."""
    from brnpa_plugins.reid.cython_rank import (CythonUnavailable,
                                                load_cython_evaluator)
    try:
        evaluate_cy = load_cython_evaluator(
            build_dir=str(tmp_path_factory.mktemp('rank_cy')))
    except CythonUnavailable as error:
        pytest.skip(f"torchreid's Cython evaluator: {error}")

    def evaluate(*args, **kwargs):
        with contextlib.redirect_stdout(io.StringIO()):  # its size notes
            return evaluate_cy(*args, **kwargs)

    return evaluate


@pytest.mark.parametrize('cuhk03', [False, True], ids=['market', 'cuhk03'])
def test_cmc_length_and_numbers_are_torchreids_cython_ones(cython_evaluate,
                                                           cuhk03):
    """Same length on every problem; the same CMC (CUHK03: within the
    float32 rounding of its 1/10 steps) up to the shortest gallery a valid
    query keeps; mAP within Cython's float32 sums."""
    rng = np.random.default_rng(11)
    cases = list(small_gallery_cases(8, 150)) + [
        (random_case(rng, 200, 500, 40, 3, distances), 50)
        for distances in ('float32', 'ties', 'nan')]
    compared = 0
    for trial, (case, max_rank) in enumerate(cases):
        kept, valid = kept_counts(case, cuhk03)
        if not valid.any():
            continue
        np.random.seed(trial)
        cmc, mAP = evaluate_rank(*case, max_rank, use_metric_cuhk03=cuhk03)
        np.random.seed(trial)
        cy_cmc, cy_map = cython_evaluate(*case, max_rank, cuhk03)
        assert cy_cmc.dtype == np.float32 and len(cy_cmc) == len(cmc)
        common = min(len(cmc), kept[valid].min())
        if cuhk03:
            np.testing.assert_allclose(cmc[:common], cy_cmc[:common],
                                       rtol=0, atol=1e-6)
        else:
            np.testing.assert_array_equal(cmc[:common], cy_cmc[:common])
        assert cy_map == pytest.approx(mAP, rel=1e-5)
        compared += 1
    assert compared > 100


def test_cythons_curve_past_a_querys_gallery_is_left_from_an_earlier_one(
        cython_evaluate):
    """torchreid's Cython loop keeps one buffer for all queries: past the
    items a query keeps, its curve holds what the query before it left (0
    for the first). Query 0 keeps 2 of 3 items and finds its match first;
    query 1 keeps 3 and finds its match last. Both found theirs within
    what they keep, so the CMC at rank 3 is 1; Cython says 0.5, and once
    the queries are swapped 1."""
    distmat = np.array([[0.1, 0.2, 0.3], [0.1, 0.2, 0.3]], dtype=np.float32)
    pids, cams = np.array([1, 2]), np.array([0, 0])
    g_pids, g_cams = np.array([1, 1, 2]), np.array([1, 0, 1])
    ours, _ = evaluate_rank(distmat, pids, g_pids, cams, g_cams, max_rank=3)
    np.testing.assert_array_equal(ours, [0.5, 0.5, 1])
    theirs, _ = cython_evaluate(distmat, pids, g_pids, cams, g_cams, 3)
    np.testing.assert_array_equal(theirs, [0.5, 0.5, 0.5])
    swapped, _ = cython_evaluate(distmat[::-1], pids[::-1], g_pids,
                                 cams[::-1], g_cams, 3)
    np.testing.assert_array_equal(swapped, [0.5, 0.5, 1])
