# Episodic training: one episode per iteration, 20k episodes, validated on
# the fixed validation episodes every 1000; the best validation checkpoint
# is kept (and tested by tools/train_fewshot.py).
# mmengine's IterBasedTrainLoop, except that a resume does not load the
# episodes already trained.
train_cfg = dict(type='BRNPAEpisodeTrainLoop', max_iters=20000,
                 val_interval=1000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=1e-3, momentum=0.9, weight_decay=5e-4,
                   nesterov=True))
param_scheduler = dict(type='StepLR', by_epoch=False, step_size=5000,
                       gamma=0.5)
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=100),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # iter_N.pth every 1000 episodes (the last 3 kept), and the best
    # validation one, best_fewshot_accuracy_iter_N.pth.
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=1000,
                    max_keep_ckpts=3, save_best='fewshot/accuracy',
                    rule='greater'),
    sampler_seed=dict(type='DistSamplerSeedHook'))
log_processor = dict(by_epoch=False)
