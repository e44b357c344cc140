# Base-class pre-training on the 1100 training characters of Omniglot
# (1-channel, 28 px): the backbone takes one input channel.
_base_ = [
    '_base_/models/brnpa-protonet_resnet12.py',
    '_base_/datasets/omniglot_base-classes.py',
    '_base_/schedules/pretrain-100e.py',
    '_base_/default_runtime.py',
]

model = dict(type='BRNPAPretrainModel', learner=dict(in_channels=1),
             num_classes=1100, dropout=0.5)
