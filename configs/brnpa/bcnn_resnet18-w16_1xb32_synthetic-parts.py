# B-CNN (WS-DAN-style bilinear attention pooling), the parametric attention
# model BR-NPA is compared against: the BR-NPA config with the BCNNNeck in
# place of the BR-NPA neck; same backbone, head, data and schedule.
_base_ = ['./brnpa_resnet18-w16_1xb32_synthetic-parts.py']
model = dict(
    neck=dict(_delete_=True, type='BCNNNeck', in_channels=128, num_parts=3))
