"""tools/train_reid.py on a tiny Market-1501, through torchreid's own
ImageDataManager, market1501 dataset class and engines."""
import os.path as osp
import re

import pytest
import torch


def printed_metrics(log: str):
    rank1 = re.findall(r'Rank-1\s*: ([\d.]+)%', log)
    mAP = re.findall(r'mAP: ([\d.]+)%', log)
    assert rank1 and mAP, f'no rank-1 / mAP in the log:\n{log[-2000:]}'
    return float(rank1[-1]), float(mAP[-1])


def test_softmax_epoch_trains_evaluates_and_saves(softmax_run):
    save_dir, log = softmax_run
    assert 'epoch: [1/1][3/3]' in log  # 24 images, batches of 8
    rank1, mAP = printed_metrics(log)
    assert 0 <= rank1 <= 100 and 0 < mAP <= 100
    checkpoint = torch.load(osp.join(save_dir, 'model', 'model.pth.tar-1'),
                            weights_only=True)
    assert checkpoint['epoch'] == 1 and type(checkpoint['rank1']) is float
    assert 'attention' not in checkpoint['state_dict']  # no parameters
    assert 'backbone.layer4.0.conv1.weight' in checkpoint['state_dict']


def test_evaluation_only_reproduces_the_saved_rank1(softmax_run, market_root,
                                                    reid_tool, tiny,
                                                    tmp_path):
    save_dir, log = softmax_run
    weights = osp.join(save_dir, 'model', 'model.pth.tar-1')
    test_log = reid_tool('train_reid', [
        '--root', market_root, *tiny, 'test.evaluate', 'True',
        'model.load_weights', weights, 'test.ranks', '[1, 5, 50]',
        'data.save_dir', str(tmp_path)
    ])
    assert 'Start training' not in test_log
    assert printed_metrics(test_log) == printed_metrics(log)
    assert '[50] exceed the' in test_log  # no crash for ranks > gallery


def test_resume_continues_from_the_checkpoint(softmax_run, market_root,
                                              reid_tool, tiny, tmp_path):
    save_dir, _ = softmax_run
    log = reid_tool('train_reid', [
        '--root', market_root, *tiny, 'train.max_epoch', '2',
        'model.resume', osp.join(save_dir, 'model', 'model.pth.tar-1'),
        'data.save_dir', str(tmp_path)
    ])
    assert 'Resumed from' in log and 'epoch 1' in log
    assert 'epoch: [2/2]' in log and 'epoch: [1/2]' not in log
    assert (tmp_path / 'model' / 'model.pth.tar-2').is_file()


def test_triplet_config_trains_with_identity_batches(market_root, reid_tool,
                                                     reid_config, tiny,
                                                     tmp_path):
    log = reid_tool('train_reid', [
        '--config-file',
        reid_config('brnpa_r50_triplet_256x128_market1501.yaml'),
        '--root', market_root, *tiny, 'sampler.num_instances', '2',
        'data.save_dir', str(tmp_path)
    ])
    assert 'loss_t' in log and 'loss_x' in log
    printed_metrics(log)
    assert (tmp_path / 'model' / 'model.pth.tar-1').is_file()


def test_high_resolution_student_learns_from_the_teacher(
        softmax_run, market_root, reid_tool, reid_config, tiny, tmp_path):
    save_dir, _ = softmax_run
    log = reid_tool('train_reid', [
        '--config-file',
        reid_config('brnpa_r50hr_distill_256x128_market1501.yaml'),
        '--root', market_root, *tiny, 'model.name', 'brnpa_resnet18_hr',
        'distill.teacher_name', 'brnpa_resnet18', 'distill.teacher_weights',
        osp.join(save_dir, 'model', 'model.pth.tar-1'), 'distill.alpha',
        '0.5', 'data.save_dir', str(tmp_path)
    ])
    assert re.search(r'loss [\d.]+ \([\d.]+\)', log)
    printed_metrics(log)


def test_a_bad_teacher_names_its_config_key(market_root, reid_tool,
                                            reid_config, tiny, tmp_path):
    (tmp_path / 'empty.pth').write_bytes(b'')
    for weights, error in ((tmp_path / 'none.pth', FileNotFoundError),
                           (tmp_path / 'empty.pth', RuntimeError)):
        with pytest.raises(error, match=r'teacher weights distill.teacher_'
                           rf"weights='.*{weights.name}'"):
            reid_tool('train_reid', [
                '--config-file',
                reid_config('brnpa_r50hr_distill_256x128_market1501.yaml'),
                '--root', market_root, *tiny, 'model.name',
                'brnpa_resnet18_hr', 'distill.teacher_name', 'brnpa_resnet18',
                'distill.teacher_weights', str(weights), 'data.save_dir',
                str(tmp_path / 'run')])


def test_missing_dataset_names_the_expected_layout(reid_tool, tiny,
                                                   tmp_path):
    with pytest.raises(FileNotFoundError,
                       match=r'market1501.Market-1501-v15\.09\.15.'
                       r'bounding_box_train.0001_c1s1_000151_01\.jpg'):
        reid_tool('train_reid', ['--root', str(tmp_path), *tiny])
    assert not (tmp_path / 'market1501').exists()  # no download attempted


def test_bad_overrides_are_refused(market_root, reid_tool, tiny):
    with pytest.raises(ValueError, match="loss must be one of"):
        reid_tool('train_reid',
                 ['--root', market_root, *tiny, 'loss.name', 'arcface'])
    with pytest.raises(ValueError, match='KEY VALUE pairs'):
        reid_tool('train_reid', ['--root', market_root, 'train.lr'])
