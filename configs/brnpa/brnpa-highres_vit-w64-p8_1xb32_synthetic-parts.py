# The high-resolution form of brnpa_vit-w64-p8_1xb32_synthetic-parts: the
# same 8 px patches taken every 4 px (2 px of padding on each side), the
# position embedding interpolated to the new grid: 24 x 24 maps at 96 px,
# no new weights.
_base_ = ['./brnpa_vit-w64-p8_1xb32_synthetic-parts.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='HighResolutionBackbone',
        backbone={{_base_.model.backbone}}))
