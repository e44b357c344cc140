# Base-class pre-training of the low-resolution BR-NPA ResNet-12 (5 x 5 maps
# at 84 px), for the distillation teacher.
_base_ = ['brnpa-pretrain_resnet12_1xb128-100e_mini-imagenet.py']

model = dict(learner=dict(high_resolution=False))
