# Base-class pre-training of the BR-NPA ResNet-12 on the 64 training classes
# of mini-ImageNet: the concatenated part vectors, dropout 0.5 and a linear
# layer (BaseClassifier), 100 epochs. The episodic configs start from its
# work_dirs/brnpa-pretrain_resnet12_1xb128-100e_mini-imagenet/epoch_100.pth
# (model.pretrained).
_base_ = [
    '_base_/models/brnpa-protonet_resnet12.py',
    '_base_/datasets/mini-imagenet_base-classes.py',
    '_base_/schedules/pretrain-100e.py',
    '_base_/default_runtime.py',
]

model = dict(type='BRNPAPretrainModel', num_classes=64, dropout=0.5)
