"""kill -9 while the few-shot runner saves: the work dir stays resumable."""
import json
import os

from brnpa_plugins.fewshot import load_checkpoint

from .conftest import CONFIG_DIR, REPO, TINY_OPTIONS

CONFIG = os.path.join(CONFIG_DIR,
                      'brnpa-protonet_resnet12_mini-imagenet_5way-1shot.py')


def test_a_kill_while_saving_latest_leaves_it_resumable(
        pickle_root, tmp_path, kill_during_save, train_fewshot):
    work_dir = tmp_path / 'work'
    arguments = [CONFIG, '--work-dir', str(work_dir), '--cfg-options',
                 f'data.root={pickle_root}', *TINY_OPTIONS, 'visualize=None']
    # the second save of latest.pth: the first one (end of pre-training)
    # is in place, the new one is written but not renamed
    partial = kill_during_save(r'^\.?latest\.pth',
                               os.path.join(REPO, 'tools', 'train_fewshot.py'),
                               *arguments, nth=2)
    assert os.path.exists(partial)
    assert load_checkpoint(work_dir / 'latest.pth')['status']['phase'] in (
        'pretrain', 'train')
    metrics = train_fewshot(arguments + ['--resume'])
    assert metrics['test']['episodes'] == 5
    assert json.loads((work_dir / 'metrics.json').read_text()) == metrics
    assert not [name for name in os.listdir(work_dir)
                if name.endswith('.tmp')]
