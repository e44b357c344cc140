# Base-class pre-training: 100 epochs of classification of all training
# classes (SGD, cosine learning rate stepped per epoch), the embedding's
# few-shot accuracy validated every 10 epochs. No best checkpoint: the
# episodic configs start from the last one, epoch_100.pth, and
# tools/train_fewshot.py tests that one too.
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=100,
                 val_interval=10)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=5e-4,
                   nesterov=True))
param_scheduler = dict(type='CosineAnnealingLR', by_epoch=True, T_max=100)
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # epoch_N.pth after every epoch, the last 2 kept.
    checkpoint=dict(type='CheckpointHook', by_epoch=True, interval=1,
                    max_keep_ckpts=2),
    sampler_seed=dict(type='DistSamplerSeedHook'))
