# The plain vision transformer that post-hoc methods (Grad-CAM on the final
# tokens, attention rollout) explain: the backbone, data and schedule of
# brnpa_vit-w64-p8_1xb32_synthetic-parts with mmpretrain's global average
# pooling of the patch tokens (out_type='avg_featmap', after the final
# LayerNorm as in mmpretrain) and a linear head.
_base_ = ['./brnpa_vit-w64-p8_1xb32_synthetic-parts.py']

model = dict(
    backbone=dict(final_norm=True, out_type='avg_featmap'),
    neck=None,
    head=dict(
        _delete_=True,
        type='LinearClsHead',
        num_classes={{_base_.num_classes}},
        in_channels=64,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, )))
