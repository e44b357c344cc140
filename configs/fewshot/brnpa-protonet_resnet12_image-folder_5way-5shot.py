# BR-NPA prototypical network, 5-way 5-shot on an image folder (e.g.
# CUB-200-2011 split by classes), from its pre-training.
_base_ = [
    '_base_/models/brnpa-protonet_resnet12.py',
    '_base_/datasets/image-folder_5way-5shot.py',
    '_base_/schedules/episodic-20k.py',
    '_base_/default_runtime.py',
]

model = dict(
    type='BRNPAFewShotModel',
    pretrained='work_dirs/brnpa-pretrain_resnet12_1xb128-100e_image-folder/'
    'epoch_100.pth',
    meta=None,
    distill=None)
