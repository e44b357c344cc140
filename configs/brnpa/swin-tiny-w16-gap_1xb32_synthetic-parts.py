# The plain network of brnpa_swin-tiny-w16_1xb32_synthetic-parts: its
# backbone, data and schedule with global average pooling and a linear head
# instead of the BR-NPA neck and head (the control of docs/backbones.md).
_base_ = ['./brnpa_swin-tiny-w16_1xb32_synthetic-parts.py']

model = dict(
    neck=dict(_delete_=True, type='GlobalAveragePooling'),
    head=dict(
        _delete_=True,
        type='LinearClsHead',
        num_classes={{_base_.num_classes}},
        in_channels=128,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, )))
