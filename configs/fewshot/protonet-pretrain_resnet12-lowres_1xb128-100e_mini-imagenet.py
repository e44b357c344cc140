# Base-class pre-training of the attention-free ProtoNet embedding (global
# average pooling, low resolution).
_base_ = ['brnpa-pretrain_resnet12_1xb128-100e_mini-imagenet.py']

model = dict(learner=dict(high_resolution=False, pooling='average'))
