# brnpa_plugins.openmmlab makes the runner's checkpoints load with
# weights_only=True (resume) and writes them atomically;
# brnpa_plugins.fewshot.engine registers the few-shot modules.
custom_imports = dict(
    imports=['brnpa_plugins.openmmlab', 'brnpa_plugins.fewshot.engine'],
    allow_failed_imports=False)
default_scope = 'mmengine'

custom_hooks = [
    # After testing: the ranked maps of test episode 0 in work_dir/maps.
    dict(type='BRNPAEpisodeMapsHook', max_images=5),
    # After testing: work_dir/metrics.json (accuracy and 95% interval, %).
    dict(type='BRNPAFewShotMetricsHook'),
]
# For --launcher pytorch: DDP, one GPU per process (on CPUs add
# env_cfg.dist_cfg.backend=gloo model_wrapper_cfg.device_ids=None).
model_wrapper_cfg = dict(type='MMDistributedDataParallel',
                         broadcast_buffers=False,
                         find_unused_parameters=False)
env_cfg = dict(cudnn_benchmark=False,
               mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
               dist_cfg=dict(backend='nccl'))
randomness = dict(seed=0)
log_level = 'INFO'
load_from = None
resume = False
