# BR-NPA with a narrow ConvNeXt on the generated ground-truth benchmark, at
# the standard resolution (total stride 32: 3 x 3 maps at 96 px). ConvNeXt-T
# depths (3, 3, 9, 3) with channels (16, 32, 64, 128), from scratch; the
# data, schedule and head are those of the ResNet-18 demo config.
# brnpa-highres_convnext-tiny-w16_1xb32_synthetic-parts.py is its
# high-resolution form.
# With this schedule neither form learned the task in a measured run (top-1
# at chance, configs/brnpa/README.md): not tuned yet.
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
