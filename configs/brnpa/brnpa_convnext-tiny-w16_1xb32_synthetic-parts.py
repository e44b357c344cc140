# BR-NPA with a narrow ConvNeXt on the generated ground-truth benchmark, at
# the standard resolution (total stride 32: 3 x 3 maps at 96 px). ConvNeXt-T
# depths (3, 3, 9, 3) with channels (16, 32, 64, 128), from scratch; the
# data and head are those of the ResNet-18 demo config, the schedule that of
# the ViT config (lr 1e-3, 30 epochs).
# brnpa-highres_convnext-tiny-w16_1xb32_synthetic-parts.py is its
# high-resolution form.
# Trained from scratch on the 720 training images, this ConvNeXt learns them
# by heart and stays near chance on the test images, with BR-NPA and with
# global average pooling alike (docs/backbones.md).
_base_ = ['./brnpa_resnet18-w16_1xb32_synthetic-parts.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='ConvNeXt',
        arch=dict(depths=[3, 3, 9, 3], channels=[16, 32, 64, 128]),
        out_indices=(3, ),
        gap_before_final_norm=False),
    neck=dict(in_channels=128),
    head=dict(in_channels=128))

optim_wrapper = dict(optimizer=dict(lr=1e-3))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=20),
    dict(type='CosineAnnealingLR', by_epoch=True, T_max=30,
         convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=30)
