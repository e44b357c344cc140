# The 5-shot episodes of the 1-shot config, from the same pre-training.
_base_ = ['brnpa-protonet_resnet12_mini-imagenet_5way-1shot.py']

train_dataloader = dict(dataset=dict(shots=5))
val_dataloader = dict(dataset=dict(shots=5))
test_dataloader = dict(dataset=dict(shots=5))
