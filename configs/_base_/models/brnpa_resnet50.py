# BR-NPA on the ImageNet-pretrained ResNet-50 at standard resolution
# (strides (1, 2, 2, 2): 14 x 14 maps at 448 px): the pooling is replaced by
# the non-parametric grouping into 3 parts and the classifier reads the 3
# concatenated part vectors (dropout, linear without bias).
_base_ = ['./resnet50_gap.py']

model = dict(
    neck=dict(type='BRNPANeck', in_channels=2048, num_parts=3),
    head=dict(type='BRNPAHead', num_parts=3, bias=False),
)
