# The attention-free ProtoNet (global average pooling, low resolution): the
# baseline BR-NPA replaces, and a distillation teacher.
_base_ = ['brnpa-protonet_resnet12_mini-imagenet_5way-1shot.py']

model = dict(
    learner=dict(high_resolution=False, pooling='average'),
    pretrained='work_dirs/protonet-pretrain_resnet12-lowres_1xb128-100e_'
    'mini-imagenet/epoch_100.pth')
