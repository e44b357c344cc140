# BR-NPA with a small vision transformer on the generated ground-truth
# benchmark, at the standard resolution: 8 px patches, 12 x 12 token maps at
# 96 px. 4 layers of 64 channels (4 heads, MLP of 256), from scratch; the
# patch tokens reach the grouping as a B x 64 x 12 x 12 map. The data,
# schedule and head are those of the ResNet-18 demo config.
# brnpa-highres_vit-w64-p8_1xb32_synthetic-parts.py is its high-resolution
# form.
# With this schedule the high-resolution form did not learn the task in a
# measured run (top-1 at chance, configs/brnpa/README.md): not tuned yet.
_base_ = ['./brnpa_resnet18-w16_1xb32_synthetic-parts.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='VisionTransformer',
        arch=dict(embed_dims=64, num_layers=4, num_heads=4,
                  feedforward_channels=256),
        img_size=96,
        patch_size=8,
        out_type='featmap'),
    neck=dict(in_channels=64),
    head=dict(in_channels=64))
