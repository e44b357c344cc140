# BR-NPA with a narrow Swin Transformer on the generated ground-truth
# benchmark, at the standard resolution (total stride 32: 3 x 3 maps at
# 96 px). Swin-T depths (2, 2, 6, 2) with 16 base channels (16 to 128, one
# head per 16 channels) and 3 x 3 windows (they divide the 24, 12, 6 and 3
# token sides), from scratch; the data and head are those of the ResNet-18
# demo config, the schedule that of the ViT config (lr 1e-3, 30 epochs).
# brnpa-highres_swin-tiny-w16_1xb32_synthetic-parts.py is its
# high-resolution form.
# Trained from scratch on the 720 training images, this Swin stays at chance,
# with global average pooling too (docs/backbones.md).
_base_ = ['./brnpa_resnet18-w16_1xb32_synthetic-parts.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='SwinTransformer',
        arch=dict(embed_dims=16, depths=[2, 2, 6, 2],
                  num_heads=[1, 2, 4, 8]),
        img_size=96,
        window_size=3,
        out_indices=(3, )),
    neck=dict(in_channels=128),
    head=dict(in_channels=128))

optim_wrapper = dict(optimizer=dict(lr=1e-3))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=20),
    dict(type='CosineAnnealingLR', by_epoch=True, T_max=30,
         convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=30)
