# BR-NPA, stage 2 of the recipe on DeiT-S: the high-resolution student
# (16 px patches every 8 px, the position embedding interpolated: 56 x 56
# maps at 448 px, no new weights), initialised from ImageNet and distilled
# from the stage-1 teacher. Train the teacher first:
#   python tools/train.py \
#       configs/brnpa/brnpa-lowres_deit-small-p16_8xb12_cub.py
_base_ = ['./brnpa-lowres_deit-small-p16_8xb12_cub.py']

model = dict(
    type='BRNPADistiller',
    backbone=dict(
        _delete_=True,
        type='HighResolutionBackbone',
        backbone={{_base_.model.backbone}}),
    teacher=dict(
        config='{{ fileDirname }}/brnpa-lowres_deit-small-p16_8xb12_cub.py',
        checkpoint='work_dirs/brnpa-lowres_deit-small-p16_8xb12_cub/'
        'epoch_50.pth'),
    temperature=1.0,
    alpha=1.0,
)
