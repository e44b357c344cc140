import os.path as osp
import re

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from brnpa_plugins.reid.build import (build_datamanager, build_model,
                                      parallelize)
from brnpa_plugins.reid.checkpoint import (WeightsMismatchError,
                                           load_all_weights, load_weights)
from brnpa_plugins.reid.config import build_config
from brnpa_plugins.reid.visualize import (stack_rows, top_matches,
                                          visualize_actmap,
                                          visualize_matches)


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


def test_tool_overlays_the_maps_on_query_and_gallery_images(
        softmax_run, market_root, reid_tool, tiny, tmp_path):
    save_dir, _ = softmax_run
    log = reid_tool('visualize_reid', [
        '--root', market_root, '--weights',
        osp.join(save_dir, 'model', 'model.pth.tar-1'), '--out-dir',
        str(tmp_path), '--num-queries', '1', '--actmap', '--max-images',
        '3', *tiny
    ])
    assert 'Wrote 6 activation maps' in log
    folder = tmp_path / 'actmap' / 'market1501'
    for split in ('query', 'gallery'):
        maps = sorted((folder / split).glob('*.png'))
        assert len(maps) == 3
        with Image.open(maps[0]) as figure:
            pixels = np.asarray(figure.convert('RGB')).astype(int)
        # image, all parts, then the 3 ranked parts: 5 panels of 32 px
        # with 4 px gaps, at the 64 x 32 input size.
        assert pixels.shape == (64, 5 * 32 + 4 * 4, 3)
        image, overlay = pixels[:, :32], pixels[:, 36:68]
        assert np.abs(image - overlay).mean() > 5  # a map is drawn on it


@pytest.mark.parametrize('overrides, named', [
    # The default 512-d embedding instead of the trained 32-d one.
    (['model.embedding_dim', '512'],
     r'shape differs: .*bottleneck\.0\.weight \(checkpoint \[32, 1536\], '
     r'model \[512, 1536\]\)'),
    # Part logits: one reduction per part instead of one for all.
    (['model.part_logits', 'True'],
     r'missing from the checkpoint: .*bottleneck\.0\.0\.weight.* and 13 '
     r'more; in the checkpoint but not in the model: .*bottleneck\.0\.weight'),
], ids=['embedding_dim', 'part_logits'])
def test_a_config_that_does_not_fit_the_checkpoint_is_refused(
        softmax_run, market_root, reid_tool, tiny, tmp_path, overrides,
        named):
    save_dir, _ = softmax_run
    weights = osp.join(save_dir, 'model', 'model.pth.tar-1')
    with pytest.raises(WeightsMismatchError) as error:
        reid_tool('visualize_reid', [
            '--root', market_root, '--weights', weights, '--out-dir',
            str(tmp_path / 'maps'), *tiny, *overrides])
    message = str(error.value)
    assert message.startswith(f'checkpoint "{weights}" does not fit the '
                              'model built from config file (none: the '
                              "defaults) with overrides ['model.name'")
    assert re.search(named, message), message
    assert message.endswith('Use the config and KEY VALUE overrides the '
                            'checkpoint was trained with (printed at the '
                            f'top of {osp.join(save_dir, "train.log")}).')
    assert not (tmp_path / 'maps').exists()  # nothing drawn


def test_another_datasets_classifier_is_not_needed_for_the_maps(
        softmax_run, market_root, tiny, tmp_path, capsys):
    """Ranking and maps never use the identity classifier, whose size is
    the number of training identities: it alone may differ."""
    save_dir, _ = softmax_run
    model = build_model(build_config('', tiny), num_classes=10)
    load_all_weights(model, osp.join(save_dir, 'model', 'model.pth.tar-1'),
                     built_from='the test')
    assert "not used here: ['classifier.weight']" in capsys.readouterr().out


def test_maps_and_matches_from_a_data_parallel_model(
        softmax_run, market_root, tiny, tmp_path):
    """nn.DataParallel works on the CPU (no device: it calls the model);
    the maps are read from the model inside it."""
    save_dir, _ = softmax_run
    cfg = build_config('', tiny, root=market_root)
    datamanager = build_datamanager(cfg)
    model = build_model(cfg, datamanager.num_train_pids)
    load_weights(model, osp.join(save_dir, 'model', 'model.pth.tar-1'))
    wrapped = nn.DataParallel(model)
    assert not hasattr(wrapped, 'attend')
    paths = visualize_matches(wrapped, datamanager, str(tmp_path / 'm'),
                              num_queries=1, topk=2)
    plain = visualize_matches(model, datamanager, str(tmp_path / 'p'),
                              num_queries=1, topk=2)
    with Image.open(paths[0]) as a, Image.open(plain[0]) as b:
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    maps = visualize_actmap(wrapped, datamanager, str(tmp_path),
                            max_images=1)
    assert len(maps) == 2
    with pytest.raises(TypeError, match='no attend'):
        visualize_matches(nn.DataParallel(nn.Linear(2, 2)), datamanager,
                          str(tmp_path))


def test_training_in_data_parallel_saves_plain_checkpoints(
        market_root, reid_tool, tiny, tmp_path):
    log = reid_tool('train_reid', ['--root', market_root, *tiny,
                                   'data_parallel', 'always',
                                   'data.save_dir', str(tmp_path)])
    assert "Model wrapped in nn.DataParallel over 0 CUDA device(s) " \
        "(data_parallel='always')" in log
    assert 'Rank-1' in log
    state = torch.load(tmp_path / 'model' / 'model.pth.tar-1',
                       weights_only=True)['state_dict']
    assert not any(key.startswith('module.') for key in state)
    # The checkpoint loads into a model without the wrapper.
    model = build_model(build_config('', tiny), 6)
    model.load_state_dict(state)


def test_no_wrapping_on_one_device_by_default(tiny):
    model = nn.Linear(2, 2)
    assert parallelize(build_config('', tiny), model) is model
    assert parallelize(build_config('', tiny + ['data_parallel', 'never']),
                       model) is model
