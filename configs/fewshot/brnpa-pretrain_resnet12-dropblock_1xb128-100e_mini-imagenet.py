# Base-class pre-training of the project's ResNet-12 with DropBlock after
# layer3 and layer4 (rate 0.1, 5 x 5 blocks), the rate rising linearly over
# the first 20k training passes (pre-training batches, then episodes: the
# count is saved with the weights).
_base_ = ['brnpa-pretrain_resnet12_1xb128-100e_mini-imagenet.py']

model = dict(
    learner=dict(
        # _delete_: replace the base's backbone name rather than merge into
        # it.
        backbone=dict(_delete_=True, type='resnet12', drop_rate=0.1,
                      dropblock_size=5, dropblock_steps=20000)))
