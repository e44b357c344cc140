"""The BR-NPA model inside torchreid's unmodified engine, and the repairs
of the drop-in engines."""
import pickle

import numpy as np
import pytest
import torch
import torchreid

from brnpa_plugins.reid import (ImageDistillationEngine, ImageSoftmaxEngine,
                                load_checkpoint)


@pytest.fixture(scope='module')
def datamanager(market_root):
    return torchreid.data.ImageDataManager(
        root=market_root, sources='market1501', height=64, width=32,
        batch_size_train=8, batch_size_test=16, workers=0, use_gpu=False)


def build(loss='softmax', name='brnpa_resnet18'):
    return torchreid.models.build_model(name, num_classes=6, loss=loss,
                                        pretrained=False)


def test_torchreids_own_engine_trains_the_model(datamanager, tmp_path,
                                                capsys):
    assert datamanager.num_train_pids == 6
    model = build()
    optimizer = torchreid.optim.build_optimizer(model, optim='adam')
    scheduler = torchreid.optim.build_lr_scheduler(optimizer, stepsize=20)
    engine = torchreid.engine.ImageSoftmaxEngine(datamanager, model,
                                                 optimizer, scheduler)
    engine.run(save_dir=str(tmp_path), max_epoch=1, print_freq=1,
               ranks=[1, 5])
    log = capsys.readouterr().out
    assert 'Rank-1' in log and 'mAP' in log
    # torchreid stored rank-1 as a numpy float, which torch refuses; the
    # plugin reads it as a Python number.
    path = str(tmp_path / 'model' / 'model.pth.tar-1')
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)
    checkpoint = load_checkpoint(path)
    assert type(checkpoint['rank1']) is float and 0 <= checkpoint['rank1']


def test_saving_without_a_scheduler_works(datamanager, tmp_path):
    model = build()
    optimizer = torchreid.optim.build_optimizer(model, optim='adam')
    engine = ImageSoftmaxEngine(datamanager, model, optimizer,
                                scheduler=None, use_gpu=False)
    engine.save_model(0, np.float32(0.5), str(tmp_path))
    checkpoint = torch.load(tmp_path / 'model' / 'model.pth.tar-1',
                            weights_only=True)
    assert checkpoint['rank1'] == 0.5 and 'scheduler' not in checkpoint
    assert torchreid.utils.resume_from_checkpoint(
        str(tmp_path / 'model' / 'model.pth.tar-1'), build(),
        torchreid.optim.build_optimizer(build(), optim='adam'),
        scheduler=None) == 1


def test_distillation_needs_a_teacher_with_logits(datamanager):
    student = build()
    optimizer = torchreid.optim.build_optimizer(student, optim='adam')
    with pytest.raises(TypeError, match='no logits'):
        ImageDistillationEngine(datamanager, student,
                                build(name='resnet18'), optimizer)
    with pytest.raises(ValueError, match="loss='softmax'"):
        ImageDistillationEngine(datamanager, build('triplet'), build(),
                                optimizer)
    with pytest.raises(ValueError, match='temperature'):
        ImageDistillationEngine(datamanager, student, build(), optimizer,
                                temperature=0)
    engine = ImageDistillationEngine(datamanager, student, build(),
                                     optimizer, use_gpu=False)
    assert not engine.teacher.training
    assert not any(p.requires_grad for p in engine.teacher.parameters())
    assert engine.get_model_names() == ['model']  # the teacher is not saved
