_base_ = [
    '_base_/models/brnpa-protonet_resnet12.py',
    '_base_/datasets/mini-imagenet_5way-1shot.py',
    '_base_/schedules/pretrain-100e_episodic-20k.py',
    '_base_/default_runtime.py',
]
