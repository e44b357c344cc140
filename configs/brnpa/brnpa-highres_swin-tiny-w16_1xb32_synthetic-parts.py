# The high-resolution form of brnpa_swin-tiny-w16_1xb32_synthetic-parts: the
# last patch merging at stride 1 (the Swin form of the plugin hook), so the
# last stage works on 6 x 6 tokens at 96 px instead of 3 x 3, no new weights.
_base_ = ['./brnpa_swin-tiny-w16_1xb32_synthetic-parts.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='HighResolutionBackbone',
        backbone={{_base_.model.backbone}}))
