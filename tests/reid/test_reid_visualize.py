import os.path as osp

import numpy as np
import pytest
from PIL import Image

from brnpa_plugins.reid.visualize import stack_rows, top_matches


def test_top_matches_skip_same_identity_same_camera_and_pad():
    distmat = np.array([[0.1, 0.2, 0.3], [0.3, 0.2, 0.1]])
    matches = top_matches(distmat, q_pids=[1, 2], g_pids=[1, 1, 1],
                          q_camids=[0, 0], g_camids=[0, 1, 0], topk=3)
    np.testing.assert_array_equal(matches, [[1, -1, -1], [2, 1, 0]])
    with pytest.raises(ValueError, match='topk'):
        top_matches(distmat, [1, 2], [1, 1, 1], [0, 0], [0, 1, 0], topk=0)


def test_rows_are_stacked_left_aligned():
    rows = [Image.new('RGB', (10, 4), 'red'), Image.new('RGB', (6, 3))]
    canvas = stack_rows(rows, gap=2)
    assert canvas.size == (10, 9)
    assert canvas.getpixel((9, 8)) == (255, 255, 255)


def test_tool_draws_the_maps_of_queries_and_their_matches(
        softmax_run, market_root, reid_tool, tiny, tmp_path):
    save_dir, _ = softmax_run
    log = reid_tool('visualize_reid', [
        '--root', market_root, '--weights',
        osp.join(save_dir, 'model', 'model.pth.tar-1'), '--out-dir',
        str(tmp_path), '--num-queries', '2', '--topk', '3', *tiny
    ])
    assert 'Wrote 2 figures' in log
    figures = sorted(tmp_path.glob('*.png'))
    assert len(figures) == 2
    assert all(osp.basename(f).endswith('_01.png') for f in figures)
    with Image.open(figures[0]) as figure:
        width, height = figure.size
        pixels = np.asarray(figure)
    # 4 rows (query + 3 matches); each row is 5 panels (image, overlay, 3
    # parts) of the 64 x 32 input upscaled to at least 160 px.
    assert height > 4 * 160 and width > 5 * 160
    assert pixels.std() > 10  # an actual picture, not a blank canvas
