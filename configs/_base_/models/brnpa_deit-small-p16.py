# BR-NPA on mmpretrain's ImageNet DeiT-S (deit-small_4xb256_in1k: a
# VisionTransformer with 16 px patches) at standard resolution: 28 x 28
# token maps at 448 px. img_size=448 makes the position embedding 28 x 28;
# loading the 224 px checkpoint interpolates its 14 x 14 one. The patch
# tokens come to the grouping as a B x 384 x 28 x 28 map (out_type='featmap').
channels = 384
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='VisionTransformer',
        arch='deit-small',
        img_size=448,
        patch_size=16,
        out_type='featmap',
        init_cfg=dict(
            type='Pretrained',
            checkpoint='https://download.openmmlab.com/mmclassification/v0/'
            'deit/deit-small_pt-4xb256_in1k_20220218-9425b9bb.pth',
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
