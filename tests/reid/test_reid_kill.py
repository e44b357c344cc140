"""kill -9 while the torchreid engine saves: earlier checkpoints stay whole."""
import os
import os.path as osp

from brnpa_plugins.reid import load_checkpoint

from .conftest import REPO


def test_a_kill_while_saving_leaves_the_previous_checkpoint(
        market_root, tiny, tmp_path, kill_during_save, reid_tool):
    save_dir = tmp_path / 'run'
    overrides = [*tiny, 'train.max_epoch', '2', 'test.eval_freq', '1',
                 'data.save_dir', str(save_dir)]
    partial = kill_during_save(r'model\.pth\.tar-2',
                               osp.join(REPO, 'tools', 'train_reid.py'),
                               '--root', market_root, *overrides)
    models = save_dir / 'model'
    assert osp.dirname(partial) == str(models)
    assert sorted(os.listdir(models)) == sorted(
        ['model.pth.tar-1', osp.basename(partial)])
    first = str(models / 'model.pth.tar-1')
    assert load_checkpoint(first)['epoch'] == 1
    log = reid_tool('train_reid', ['--root', market_root, *overrides,
                                   'model.resume', first])
    assert 'Resumed from' in log and 'epoch: [2/2]' in log
    assert [name for name in sorted(os.listdir(models))
            if not name.startswith('model-best')] == [
                'model.pth.tar-1', 'model.pth.tar-2']
    assert load_checkpoint(str(models / 'model.pth.tar-2'))['epoch'] == 2
