# Episodes of the DropBlock ResNet-12, from its own pre-training (the
# DropBlock schedule continues from the pre-training's pass count).
_base_ = ['brnpa-protonet_resnet12_mini-imagenet_5way-1shot.py']

model = dict(
    learner=dict(
        backbone=dict(_delete_=True, type='resnet12', drop_rate=0.1,
                      dropblock_size=5, dropblock_steps=20000)),
    pretrained='work_dirs/brnpa-pretrain_resnet12-dropblock_1xb128-100e_'
    'mini-imagenet/epoch_100.pth')
