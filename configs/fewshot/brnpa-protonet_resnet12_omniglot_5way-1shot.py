# BR-NPA prototypical network, 5-way 1-shot on Omniglot (1-channel, 28 px),
# from its pre-training.
_base_ = [
    '_base_/models/brnpa-protonet_resnet12.py',
    '_base_/datasets/omniglot_5way-1shot.py',
    '_base_/schedules/episodic-20k.py',
    '_base_/default_runtime.py',
]

model = dict(
    type='BRNPAFewShotModel',
    learner=dict(in_channels=1),
    pretrained='work_dirs/brnpa-pretrain_resnet12_1xb128-100e_omniglot/'
    'epoch_100.pth',
    meta=None,
    distill=None)
