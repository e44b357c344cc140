# brnpa_vit-w64-p8_1xb32_synthetic-parts with signed features: the neck's
# ReLU off (relu_input=False), so the grouping's cosine similarities lie in
# [-1, 1] and the norm map counts negative activations too; measured against
# the ReLU in docs/backbones.md.
_base_ = ['./brnpa_vit-w64-p8_1xb32_synthetic-parts.py']

model = dict(neck=dict(relu_input=False))
