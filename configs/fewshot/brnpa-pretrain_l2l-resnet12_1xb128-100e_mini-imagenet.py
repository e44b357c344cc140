# Base-class pre-training of BR-NPA on learn2learn's own ResNet-12
# (MetaOptNet widths, DropBlock 0.1 in layer3 and layer4), built by import
# path. The network is cut at layer4 (before its pooling) and made
# high-resolution: its layer3 and layer4 blocks stop max-pooling (see
# docs/fewshot.md, "Any other network").
_base_ = ['brnpa-pretrain_resnet12_1xb128-100e_mini-imagenet.py']

model = dict(
    learner=dict(
        # _delete_: replace the base's backbone name rather than merge into
        # it.
        backbone=dict(_delete_=True,
                      type='learn2learn.vision.models.ResNet12Backbone',
                      avg_pool=False, dropblock_dropout=0.1,
                      dropblock_size=5),
        # The widths are the network's own (wider=True: 64/160/320/640).
        widths=None))
