# brnpa_vit-w64-p8_1xb32_synthetic-parts with the neck's ReLU on
# (relu_input=True): the grouping sees only the positive part of the signed
# residual stream, so its cosine similarities lie in [0, 1] as on a ResNet;
# measured against the signed features in docs/backbones.md.
_base_ = ['./brnpa_vit-w64-p8_1xb32_synthetic-parts.py']

model = dict(neck=dict(relu_input=True))
