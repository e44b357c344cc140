# BR-NPA on mmpretrain's ImageNet ConvNeXt-T (convnext-tiny_32xb128_in1k) at
# standard resolution (total stride 32: 14 x 14 maps at 448 px). The final
# norm is applied to the feature map (gap_before_final_norm=False), which
# the non-parametric grouping reads instead of a global pooling.
channels = 768
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='ConvNeXt',
        arch='tiny',
        out_indices=(3, ),
        gap_before_final_norm=False,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='https://download.openmmlab.com/mmclassification/v0/'
            'convnext/convnext-tiny_32xb128_in1k_20221207-998cf3e9.pth',
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
