# BR-NPA, stage 2 of the recipe on Swin-T: the high-resolution student (the
# last patch merging at stride 1: 28 x 28 maps at 448 px, no new weights),
# initialised from ImageNet and distilled from the stage-1 teacher. Train
# the teacher first:
#   python tools/train.py configs/brnpa/brnpa-lowres_swin-tiny_8xb12_cub.py
_base_ = ['./brnpa-lowres_swin-tiny_8xb12_cub.py']

model = dict(
    type='BRNPADistiller',
    backbone=dict(
        _delete_=True,
        type='HighResolutionBackbone',
        backbone={{_base_.model.backbone}}),
    teacher=dict(
        config='{{ fileDirname }}/brnpa-lowres_swin-tiny_8xb12_cub.py',
        checkpoint='work_dirs/brnpa-lowres_swin-tiny_8xb12_cub/'
        'epoch_50.pth'),
    temperature=1.0,
    alpha=1.0,
)
