_base_ = ['brnpa-protonet_resnet12_mini-imagenet_5way-1shot.py']

train_episode = dict(shots=5)
test_episode = dict(shots=5)
