# BR-NPA on mmpretrain's ImageNet Swin-T (swin-tiny_16xb64_in1k) at standard
# resolution (total stride 32: 14 x 14 maps at 448 px, windows of 7 x 7).
# Its last stage's normalised output is a B x 768 x H x W map.
channels = 768
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='SwinTransformer',
        arch='tiny',
        img_size=448,
        out_indices=(3, ),
        init_cfg=dict(
            type='Pretrained',
            checkpoint='https://download.openmmlab.com/mmclassification/v0/'
            'swin-transformer/'
            'swin_tiny_224_b16x64_300e_imagenet_20210616_090925-66df6be6.pth',
            prefix='backbone')),
    neck=dict(type='BRNPANeck', in_channels=channels, num_parts=3),
    head=dict(
        type='BRNPAHead',
        in_channels=channels,
        num_parts=3,
        bias=False,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, )),
)
