import os
import os.path as osp

import numpy as np
import pytest
import torchreid
from PIL import Image

from brnpa_plugins.reid.data import LAYOUTS, check_reid_roots


def make(root, release=True, empty=()):
    base = root / 'market1501'
    if release:
        base = base / 'Market-1501-v15.09.15'
    for split in ('bounding_box_train', 'query', 'bounding_box_test'):
        (base / split).mkdir(parents=True)
        if split not in empty:
            (base / split / '0001_c1s1_000151_01.jpg').write_bytes(b'')


def test_both_layouts_torchreid_reads_are_accepted(tmp_path):
    make(tmp_path / 'new')
    make(tmp_path / 'old', release=False)
    check_reid_roots(str(tmp_path / 'new'), ['market1501'])
    check_reid_roots(str(tmp_path / 'old'), ['market1501', 'market1501'])


def test_missing_dataset_names_every_expected_folder(tmp_path):
    with pytest.raises(FileNotFoundError) as error:
        check_reid_roots(str(tmp_path), ['market1501'])
    message = str(error.value)
    for split in ('bounding_box_train', 'query', 'bounding_box_test'):
        assert f'Market-1501-v15.09.15/{split}/0001_c1s1_000151_01.jpg' \
            in message
    assert '--root' in message


def test_an_empty_split_is_reported(tmp_path):
    make(tmp_path, empty=('query', ))
    with pytest.raises(FileNotFoundError,
                       match=r"query\" holds no image matching '\*\.jpg'"):
        check_reid_roots(str(tmp_path), ['market1501'])


def snapshot(root):
    """Every path under root (folders included)."""
    return sorted(str(p.relative_to(root)) for p in root.rglob('*'))


def test_every_image_dataset_of_torchreid_has_a_layout():
    registered = getattr(torchreid.data.datasets, '__image_datasets')
    assert set(LAYOUTS) == set(registered)
    for name, layout in LAYOUTS.items():
        # The folder each torchreid class joins to the root.
        assert registered[name].dataset_dir == layout.folder, name


@pytest.mark.parametrize('name, expected', [
    ('grid', 'grid/underground_reid/probe/0001_1_25004_107_32_106_221.jpeg'),
    ('viper', 'viper/VIPeR/cam_a/000_45.bmp'),
    ('cuhk03', 'cuhk03/cuhk03_release/cuhk-03.mat'),
    ('dukemtmcreid', 'dukemtmc-reid/DukeMTMC-reID/bounding_box_train/'),
    ('university1652', 'university1652/University-Release/train'),
])
def test_a_missing_dataset_names_its_path_and_leaves_the_root(
        tmp_path, name, expected):
    (tmp_path / 'other').mkdir()
    (tmp_path / 'other' / 'keep.txt').write_text('x')
    before = snapshot(tmp_path)
    with pytest.raises(FileNotFoundError) as error:
        check_reid_roots(str(tmp_path), [name])
    assert str(tmp_path / expected) in str(error.value)
    assert f'{name} data not found' in str(error.value)
    assert snapshot(tmp_path) == before  # nothing created, no download


def test_alternative_layouts_are_accepted(tmp_path):
    # cuhk01: the zip torchreid extracts; msmt17: the V2 release.
    (tmp_path / 'cuhk01').mkdir()
    (tmp_path / 'cuhk01' / 'CUHK01.zip').write_bytes(b'')
    base = tmp_path / 'msmt17' / 'MSMT17_V2'
    for folder in ('mask_train_v2/0000', 'mask_test_v2/0001'):
        (base / folder).mkdir(parents=True)
        (base / folder / '0000_000_01_0303morning_0015_0.jpg').write_bytes(
            b'')
    for name in ('list_train.txt', 'list_val.txt', 'list_query.txt',
                 'list_gallery.txt'):
        (base / name).write_text('')
    check_reid_roots(str(tmp_path), ['cuhk01', 'msmt17'])
    (base / 'list_val.txt').unlink()
    with pytest.raises(FileNotFoundError, match='list_val.txt'):
        check_reid_roots(str(tmp_path), ['msmt17'])


def test_unknown_and_video_datasets_are_refused(tmp_path):
    with pytest.raises(KeyError, match="unknown dataset 'market150' "
                       r"\(did you mean 'market1501'\?\)"):
        check_reid_roots(str(tmp_path), ['market150'])
    with pytest.raises(ValueError, match=r"\['mars'\] are torchreid video"):
        check_reid_roots(str(tmp_path), ['mars'])


def test_the_tool_refuses_a_missing_target_before_touching_the_root(
        market_root, reid_tool, tiny, tmp_path):
    """-t market1501 grid: torchreid would create grid/ and download."""
    before = os.listdir(market_root)
    with pytest.raises(FileNotFoundError, match='grid data not found') as e:
        reid_tool('train_reid', ['-t', 'market1501', 'grid', '--root',
                                 market_root, *tiny, 'data.save_dir',
                                 str(tmp_path / 'run')])
    assert osp.join(market_root, 'grid', 'underground_reid', 'probe') in \
        str(e.value)
    assert os.listdir(market_root) == before
    assert not (tmp_path / 'run').exists()


def test_a_tiny_viper_in_the_real_layout_trains(tmp_path, reid_tool, tiny):
    """The check accepts what torchreid's VIPeR class reads: cam_a and
    cam_b hold one .bmp per identity, paired by sorted name."""
    rng = np.random.default_rng(0)
    for cam, angle in (('cam_a', 0), ('cam_b', 90)):
        folder = tmp_path / 'viper' / 'VIPeR' / cam
        folder.mkdir(parents=True)
        for pid in range(8):
            pixels = rng.integers(0, 256, (64, 32, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(folder / f'{pid:03d}_{angle}.bmp')
    log = reid_tool('train_reid', [
        '-s', 'viper', '-t', 'viper', '--root', str(tmp_path), *tiny,
        'train.batch_size', '4', 'data.save_dir', str(tmp_path / 'run')])
    assert 'epoch: [1/1][2/2]' in log  # 4 train ids x 2 cameras
    assert 'Rank-1' in log


def test_the_tiny_data_tool_writes_the_real_layout(tmp_path, reid_tool):
    log = reid_tool('make_tiny_reid_data', [
        '--out', str(tmp_path), '--train-ids', '3', '--test-ids', '2',
        '--jitter', '30'])
    assert 'Wrote a tiny Market-1501' in log
    check_reid_roots(str(tmp_path), ['market1501'])
    base = tmp_path / 'market1501' / 'Market-1501-v15.09.15'
    assert len(list((base / 'bounding_box_train').glob('*.jpg'))) == 12
    assert sorted(p.name[:4] for p in (base / 'query').glob('*.jpg')) == [
        '0004', '0004', '0005', '0005']
    assert len(list((base / 'bounding_box_test').glob('*.jpg'))) == 6 + 3
    with pytest.raises(SystemExit):  # refuses to write over a dataset
        reid_tool('make_tiny_reid_data', ['--out', str(tmp_path)])


def test_the_500k_distractors_need_their_folder(tmp_path):
    make(tmp_path)
    check_reid_roots(str(tmp_path), ['market1501'])
    with pytest.raises(FileNotFoundError,
                       match=r'Market-1501-v15\.09\.15.images" holds no'):
        check_reid_roots(str(tmp_path), ['market1501'], market1501_500k=True)
    images = tmp_path / 'market1501' / 'Market-1501-v15.09.15' / 'images'
    images.mkdir()
    (images / '0000_c1s1_000000_01.jpg').write_bytes(b'')
    check_reid_roots(str(tmp_path), ['market1501'], market1501_500k=True)
