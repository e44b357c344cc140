"""Everything tools/train_reid.py prints also goes to save_dir/train.log."""
import os
import time
import os.path as osp

import pytest

from brnpa_plugins.reid.log import TeeLog


def printed_lines_in_order(printed: str, logged: str) -> bool:
    """Whether every printed line is in the log, in the printed order
    (the log also holds standard error)."""
    lines = iter(logged.splitlines())
    return all(any(line == other for other in lines)
               for line in printed.splitlines())


def test_the_training_log_holds_everything_printed(softmax_run):
    save_dir, printed = softmax_run
    with open(osp.join(save_dir, 'train.log')) as stream:
        logged = stream.read()
    assert 'epoch: [1/1][3/3]' in printed and 'Rank-1' in printed
    assert printed_lines_in_order(printed, logged)
    assert logged.startswith('Log file: ')
    assert 'Command line: python tools/train_reid.py --config-file' in logged
    # Written atomically: no temporary file is left next to it.
    # (torchreid's engine also writes a tensorboard events file there.)
    assert sorted(name for name in os.listdir(save_dir)
                  if not name.startswith('events.out.tfevents')) == [
                      'model', 'train.log']


def test_evaluation_writes_test_log_and_a_rerun_continues(
        softmax_run, market_root, reid_tool, tiny, tmp_path):
    save_dir, _ = softmax_run
    weights = osp.join(save_dir, 'model', 'model.pth.tar-1')
    args = ['--root', market_root, *tiny, 'test.evaluate', 'True',
            'model.load_weights', weights, 'data.save_dir', str(tmp_path)]
    first = reid_tool('train_reid', args)
    second = reid_tool('train_reid', args)
    with open(tmp_path / 'test.log') as stream:
        logged = stream.read()
    assert not (tmp_path / 'train.log').exists()
    assert '=== continued' in logged
    before, after = logged.split('=== continued')
    assert printed_lines_in_order(first, before)
    assert printed_lines_in_order(second, after)


def test_a_failing_run_logs_its_traceback(market_root, reid_tool, tiny,
                                          tmp_path):
    with pytest.raises(FileNotFoundError):
        reid_tool('train_reid', [
            '--root', market_root, *tiny, 'test.evaluate', 'True',
            'model.load_weights', str(tmp_path / 'missing.pth'),
            'data.save_dir', str(tmp_path)])
    logged = (tmp_path / 'test.log').read_text()
    assert 'Traceback (most recent call last)' in logged
    assert 'missing.pth' in logged


def test_tee_log_mirrors_stdout_and_stderr(tmp_path, capsys):
    import sys
    with TeeLog(str(tmp_path / 'a' / 'x.log'), interval=3600):
        print('to stdout')
        print('to stderr', file=sys.stderr)
    captured = capsys.readouterr()
    assert 'to stdout' in captured.out and 'to stderr' in captured.err
    text = (tmp_path / 'a' / 'x.log').read_text()
    assert 'to stdout\n' in text and 'to stderr\n' in text


def test_text_printed_between_rewrites_reaches_the_file(tmp_path):
    """A quiet run (nothing printed for a while) still has its last lines
    on disk after the interval, not only at the end."""
    path = tmp_path / 'quiet.log'
    with TeeLog(str(path), interval=0.2) as log:
        print('first')  # right after the opening line: not rewritten yet
        assert 'first' not in path.read_text()
        deadline = time.monotonic() + 10
        while 'first' not in path.read_text():
            assert time.monotonic() < deadline, 'never written'
            time.sleep(0.05)
        assert log.text() == path.read_text()
