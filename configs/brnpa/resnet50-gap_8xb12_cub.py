# The plain ResNet-50 baseline (global average pooling), same data and
# schedule as the BR-NPA models.
_base_ = [
    '../_base_/models/resnet50_gap.py',
    '../_base_/datasets/cub_bs12_448.py',
    '../_base_/schedules/sgd-step_50e.py',
    '../_base_/default_runtime.py',
]

model = dict(head=dict(num_classes=200))
