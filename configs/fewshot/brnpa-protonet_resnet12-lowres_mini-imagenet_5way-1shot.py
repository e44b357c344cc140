# The low-resolution model (5 x 5 maps at 84 px): a distillation teacher.
_base_ = ['brnpa-protonet_resnet12_mini-imagenet_5way-1shot.py']

model = dict(high_resolution=False)
