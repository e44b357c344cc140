import os

import numpy as np
import pytest
import torch
import torchreid
from torch import nn

from brnpa_plugins.core import CheckpointError
from brnpa_plugins.reid.checkpoint import (load_checkpoint, load_weights,
                                           resume_from_checkpoint,
                                           save_checkpoint)


def training_state():
    model = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, [2, 4])
    model(torch.rand(5, 4)).sum().backward()
    optimizer.step()
    scheduler.step()
    return model, optimizer, scheduler


def test_numpy_numbers_are_saved_as_python_numbers(tmp_path):
    model, optimizer, scheduler = training_state()
    path = save_checkpoint(
        {'state_dict': model.state_dict(), 'epoch': np.int64(3),
         'rank1': np.float32(0.25), 'optimizer': optimizer.state_dict(),
         'scheduler': scheduler.state_dict()}, str(tmp_path))
    assert path.endswith('model.pth.tar-3')
    assert os.listdir(tmp_path) == ['model.pth.tar-3']  # no temporary left
    # Plain torch.load with weights_only=True: no allow-list needed.
    checkpoint = torch.load(path, weights_only=True)
    assert type(checkpoint['rank1']) is float and checkpoint['rank1'] == 0.25
    assert type(checkpoint['epoch']) is int


def test_resume_restores_model_optimizer_and_scheduler(tmp_path):
    model, optimizer, scheduler = training_state()
    path = save_checkpoint(
        {'state_dict': model.state_dict(), 'epoch': 1, 'rank1': 0.5,
         'optimizer': optimizer.state_dict(),
         'scheduler': scheduler.state_dict()}, str(tmp_path), is_best=True)
    assert (tmp_path / 'model-best.pth.tar').is_file()
    fresh = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3))
    fresh_optimizer = torch.optim.Adam(fresh.parameters(), lr=0.1)
    fresh_scheduler = torch.optim.lr_scheduler.MultiStepLR(
        fresh_optimizer, [2, 4])
    epoch = resume_from_checkpoint(path, fresh, fresh_optimizer,
                                   fresh_scheduler)
    assert epoch == 1
    for key, value in model.state_dict().items():
        torch.testing.assert_close(fresh.state_dict()[key], value)
    assert fresh_scheduler.last_epoch == scheduler.last_epoch == 1
    assert fresh_optimizer.state_dict()['state'][0]['step'] == 1
    # torchreid's own loader reads it too (it calls torch.load's default).
    assert torchreid.utils.resume_from_checkpoint(path, fresh) == 1


def test_checkpoints_written_by_torchreid_still_load(tmp_path):
    model, _, _ = training_state()
    # What torchreid's engine writes: rank-1 as a numpy float.
    torchreid.utils.save_checkpoint(
        {'state_dict': model.state_dict(), 'epoch': 2,
         'rank1': np.float32(0.75)}, str(tmp_path))
    path = str(tmp_path / 'model.pth.tar-2')
    assert load_checkpoint(path)['rank1'] == np.float32(0.75)
    fresh = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3))
    load_weights(fresh, path)
    torch.testing.assert_close(fresh[0].weight, model[0].weight)


def test_code_in_a_checkpoint_is_refused(tmp_path):
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'epoch': 1, 'hook': os.getcwd}, path)
    with pytest.raises(CheckpointError, match=r'evil.pth holds objects that '
                       r'torch.load\(weights_only=True\) refuses .*getcwd.*'
                       'reid.save_checkpoint'):
        load_checkpoint(str(path))
    with pytest.raises(FileNotFoundError, match='missing.pth does not exist'):
        load_checkpoint(str(tmp_path / 'missing.pth'))


@pytest.mark.parametrize('content', [b'', b'not a checkpoint\n', 'half'])
def test_empty_text_or_truncated_files_name_the_file(tmp_path, content):
    path = tmp_path / 'bad.pth'
    if content == 'half':
        save_checkpoint({'state_dict': {'w': torch.ones(64)}, 'epoch': 1},
                        str(tmp_path))
        whole = next(tmp_path.glob('*.pth*')).read_bytes()
        content = whole[:len(whole) // 2]
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=r'bad.pth is not a complete '
                       r'PyTorch checkpoint \(\d+ bytes; .*Write it again'):
        load_checkpoint(str(path))


def test_load_weights_skips_mismatched_layers_and_names_them(tmp_path,
                                                             capsys):
    source = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 7))
    path = save_checkpoint({'state_dict': source.state_dict(), 'epoch': 1},
                           str(tmp_path))
    target = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2))
    load_weights(target, path)
    torch.testing.assert_close(target[0].weight, source[0].weight)
    assert "'1.weight'" in capsys.readouterr().out
    with pytest.raises(RuntimeError, match='no weight'):
        load_weights(nn.Linear(9, 9), path)
    with pytest.raises(ValueError, match="needs 'state_dict' and 'epoch'"):
        save_checkpoint({'epoch': 1}, str(tmp_path))

