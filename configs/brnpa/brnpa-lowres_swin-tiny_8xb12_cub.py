# BR-NPA, stage 1 of the recipe on Swin-T: the standard-resolution teacher
# (14 x 14 maps at 448 px), trained with cross-entropy. The schedule is the
# authors' ResNet-50 one, not tuned for this backbone.
_base_ = [
    '../_base_/models/brnpa_swin-tiny.py',
    '../_base_/datasets/cub_bs12_448.py',
    '../_base_/schedules/sgd-step_50e.py',
    '../_base_/default_runtime.py',
]

model = dict(head=dict(num_classes=200))

custom_hooks = [dict(type='RankedMapsHook', split='test', num_images=4)]
