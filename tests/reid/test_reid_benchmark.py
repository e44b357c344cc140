def test_benchmark_runs_and_agrees_with_torchreid(reid_tool):
    log = reid_tool('benchmark_reid_eval', [
        '--num-query', '40', '--num-gallery', '300', '--num-ids', '20',
        '--num-distractors', '30', '--dim', '16', '--repeats', '1'
    ])
    assert 'identical to torchreid: True' in log and 'speed-up' in log
