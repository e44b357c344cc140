# The low-resolution model (5 x 5 maps at 84 px): a distillation teacher,
# from its own pre-training.
_base_ = ['brnpa-protonet_resnet12_mini-imagenet_5way-1shot.py']

model = dict(
    learner=dict(high_resolution=False),
    pretrained='work_dirs/brnpa-pretrain_resnet12-lowres_1xb128-100e_'
    'mini-imagenet/epoch_100.pth')
