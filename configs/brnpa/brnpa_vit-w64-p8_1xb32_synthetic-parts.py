# BR-NPA with a small vision transformer on the generated ground-truth
# benchmark, at the standard resolution: 8 px patches, 12 x 12 token maps at
# 96 px. 4 layers of 64 channels (4 heads, MLP of 256), from scratch; the
# patch tokens reach the grouping as a B x 64 x 12 x 12 map.
# The grouping reads the last layer's residual stream: final_norm=False.
# After the final LayerNorm every token has about the same norm, which leaves
# BR-NPA no activity to rank locations by; measured in docs/backbones.md
# (brnpa-finalnorm_vit-w64-p8_1xb32_synthetic-parts.py is that variant).
# Schedule: the ResNet-18 demo's, with lr 1e-3 and 30 epochs (the demo's
# 3e-3 and 12 epochs left every form at chance).
# brnpa-highres_vit-w64-p8_1xb32_synthetic-parts.py is its high-resolution
# form.
_base_ = ['./brnpa_resnet18-w16_1xb32_synthetic-parts.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='VisionTransformer',
        arch=dict(embed_dims=64, num_layers=4, num_heads=4,
                  feedforward_channels=256),
        img_size=96,
        patch_size=8,
        final_norm=False,
        out_type='featmap'),
    neck=dict(in_channels=64),
    head=dict(in_channels=64))

optim_wrapper = dict(optimizer=dict(lr=1e-3))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=20),
    dict(type='CosineAnnealingLR', by_epoch=True, T_max=30,
         convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=30)
