import pytest

from brnpa_plugins.reid.data import check_reid_roots


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
    with pytest.raises(FileNotFoundError, match='query" holds no .jpg'):
        check_reid_roots(str(tmp_path), ['market1501'])


def test_unknown_datasets_are_left_to_torchreid(tmp_path):
    check_reid_roots(str(tmp_path), ['dukemtmcreid'])
