# The high-resolution form of brnpa_convnext-tiny-w16_1xb32_synthetic-parts:
# the 2 x 2 downsampling before stages 2 and 3 at stride 1 (total stride 8,
# as the ResNet-18 demo): 12 x 12 maps at 96 px, the same weights.
_base_ = ['./brnpa_convnext-tiny-w16_1xb32_synthetic-parts.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='HighResolutionBackbone',
        backbone={{_base_.model.backbone}}))
