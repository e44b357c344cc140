# brnpa_vit-w64-p8_1xb32_synthetic-parts with the grouping after the
# transformer's final LayerNorm (mmpretrain's default, final_norm=True), on
# its signed tokens as the neck's default (relu_input=False) leaves them:
# the variant the choice of final_norm=False is measured against
# (docs/backbones.md).
_base_ = ['./brnpa_vit-w64-p8_1xb32_synthetic-parts.py']

model = dict(backbone=dict(final_norm=True))
