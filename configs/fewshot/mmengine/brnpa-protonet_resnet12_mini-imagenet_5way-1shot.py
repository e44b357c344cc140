# BR-NPA prototypical network, 5-way 1-shot on mini-ImageNet, run by
# mmengine's Runner: one episode per training iteration, validation and
# test on fixed episodes (BRNPAEpisodeAccuracy, in percent).
#
#   CFG=configs/fewshot/mmengine/brnpa-protonet_resnet12_mini-imagenet_5way-1shot.py
#   python tools/train.py $CFG --work-dir DIR [--resume] --cfg-options \
#       train_dataloader.dataset.root=R val_dataloader.dataset.root=R \
#       test_dataloader.dataset.root=R
#   python tools/test.py $CFG DIR/best_fewshot_accuracy_iter_N.pth ...
#
# Unlike configs/fewshot/brnpa-protonet_resnet12_mini-imagenet_5way-1shot.py
# (tools/train_fewshot.py), there is no base-class pre-training phase: the
# episodes train the network from its initialisation, or from the weights
# of model.learner_checkpoint (a pre-training run of tools/train_fewshot.py).
custom_imports = dict(
    # brnpa_plugins.openmmlab makes the runner checkpoints load with
    # weights_only=True (resume) and writes them atomically.
    imports=['brnpa_plugins.openmmlab', 'brnpa_plugins.fewshot.engine'],
    allow_failed_imports=False)
default_scope = 'mmengine'

# learn2learn's pickles mini-imagenet-cache-{train,validation,test}.pkl
# (filled into the three datasets when the file is read: --cfg-options sets
# train_dataloader.dataset.root and the others, not data_root);
# nothing is downloaded.
data_root = 'data/mini-imagenet'
data = dict(
    benchmark='mini-imagenet',
    root=data_root,
    image_size=84,
    # mini-ImageNet's training mean and standard deviation (learn2learn's
    # 'lee2019' transform).
    mean=(0.4721, 0.4533, 0.4100),
    std=(0.2772, 0.2678, 0.2845))
train_episodes = 20000
episode = dict(ways=5, shots=1, queries=15)

model = dict(
    type='BRNPAFewShotModel',
    # BRNPAProtoNet arguments: high-resolution ResNet-12 (64/160/320/640),
    # N=3 parts.
    learner=dict(
        backbone='resnet12',
        widths=(64, 160, 320, 640),
        high_resolution=True,
        num_parts=3,
        pooling='brnpa',
        metric='euclidean',
        partwise=False,
        scale=None,
        learn_scale=False,
        brnpa=dict(refine=True, seed='max', activity='attended_norm',
                   sort_by_activity=False)),
    # meta=dict(algorithm='anil', ways=5, inner_lr=0.1, adaptation_steps=5,
    #           eval_adaptation_steps=10) trains ANIL (or 'maml') instead.
    meta=None,
    # The latest.pth of a base-class pre-training by tools/train_fewshot.py
    # (pretrain=..., train.episodes=0) with the same model settings, to
    # start the episodes from; None: the initialisation.
    learner_checkpoint=None,
    # Distillation from a frozen teacher trained by tools/train_fewshot.py
    # (see brnpa-protonet-kd_resnet12_mini-imagenet_5way-1shot.py); None:
    # cross-entropy.
    distill=None)

# One episode per batch: batch_size=1 and brnpa_episode_collate.
train_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    # Iteration t of process r trains episode t x processes + r, endlessly
    # (modulo num_episodes: set it to at least max_iters x processes).
    sampler=dict(type='BRNPAEpisodeSampler'),
    collate_fn=dict(type='brnpa_episode_collate'),
    # Episode i is drawn with a seed made of (seed, i).
    dataset=dict(type='BRNPAEpisodeDataset', split='train', augment=True,
                 num_episodes=train_episodes, seed=0, **episode, **data))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='brnpa_episode_collate'),
    dataset=dict(type='BRNPAEpisodeDataset', split='validation',
                 num_episodes=600, seed=1, **episode, **data))
test_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='brnpa_episode_collate'),
    dataset=dict(type='BRNPAEpisodeDataset', split='test', num_episodes=600,
                 seed=2, **episode, **data))
val_evaluator = dict(type='BRNPAEpisodeAccuracy')
test_evaluator = val_evaluator

# mmengine's IterBasedTrainLoop, except that a resume does not load the
# episodes already trained.
train_cfg = dict(type='BRNPAEpisodeTrainLoop', max_iters=train_episodes,
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
    # latest checkpoints every 1000 episodes, and the best validation one.
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=1000,
                    max_keep_ckpts=3, save_best='fewshot/accuracy',
                    rule='greater'),
    sampler_seed=dict(type='DistSamplerSeedHook'))
# After testing, the ranked maps of test episode 0 in work_dir/maps.
custom_hooks = [dict(type='BRNPAEpisodeMapsHook', max_images=5)]
log_processor = dict(by_epoch=False)
# For --launcher pytorch only: DDP, one GPU per process (on CPUs add
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
