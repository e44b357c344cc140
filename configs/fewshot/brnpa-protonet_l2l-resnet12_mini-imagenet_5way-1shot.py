# Episodes of BR-NPA on learn2learn's ResNet-12, from its own pre-training.
_base_ = ['brnpa-protonet_resnet12_mini-imagenet_5way-1shot.py']

model = dict(
    learner=dict(
        backbone=dict(_delete_=True,
                      type='learn2learn.vision.models.ResNet12Backbone',
                      avg_pool=False, dropblock_dropout=0.1,
                      dropblock_size=5),
        widths=None),
    pretrained='work_dirs/brnpa-pretrain_l2l-resnet12_1xb128-100e_'
    'mini-imagenet/epoch_100.pth')
