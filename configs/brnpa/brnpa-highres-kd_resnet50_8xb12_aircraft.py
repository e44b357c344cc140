# BR-NPA, stage 2 of the recipe: the high-resolution student (strides
# (1, 2, 1, 1): 56 x 56 maps at 448 px), initialised from ImageNet and
# trained by distillation from the stage-1 teacher. Train the teacher first:
#   python tools/train.py configs/brnpa/brnpa-lowres_resnet50_8xb12_aircraft.py
# or point model.teacher.checkpoint at its weights. The saved checkpoints
# hold the student only and load into this config for testing, without the
# teacher.
_base_ = ['./brnpa-lowres_resnet50_8xb12_aircraft.py']

model = dict(
    type='BRNPADistiller',
    backbone=dict(strides=(1, 2, 1, 1)),
    teacher=dict(
        config='{{ fileDirname }}/brnpa-lowres_resnet50_8xb12_aircraft.py',
        checkpoint='work_dirs/brnpa-lowres_resnet50_8xb12_aircraft/'
        'epoch_50.pth'),
    temperature=1.0,
    alpha=1.0,
)
