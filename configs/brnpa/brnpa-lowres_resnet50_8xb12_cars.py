# BR-NPA, stage 1 of the recipe: the low-resolution teacher (14 x 14 maps at
# 448 px), trained with cross-entropy.
_base_ = [
    '../_base_/models/brnpa_resnet50.py',
    '../_base_/datasets/stanford-cars_bs12_448.py',
    '../_base_/schedules/sgd-step_50e.py',
    '../_base_/default_runtime.py',
]

model = dict(head=dict(num_classes=196))

# The ranked maps of 4 fixed test images, after every epoch, in
# <work_dir>/ranked_maps (only looked at: nothing is chosen on them).
custom_hooks = [dict(type='RankedMapsHook', split='test', num_images=4)]
