# Base-class pre-training on the training classes of an image folder (100
# for CUB-200-2011 split 100/50/50 by classes; set model.num_classes to
# the number of class folders under train/).
_base_ = [
    '_base_/models/brnpa-protonet_resnet12.py',
    '_base_/datasets/image-folder_base-classes.py',
    '_base_/schedules/pretrain-100e.py',
    '_base_/default_runtime.py',
]

model = dict(type='BRNPAPretrainModel', num_classes=100, dropout=0.5)
