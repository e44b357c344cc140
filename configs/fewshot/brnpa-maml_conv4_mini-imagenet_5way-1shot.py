# MAML on BR-NPA: the whole network (Conv-4 embedding, BR-NPA grouping and
# a linear head on the concatenated part vectors) is adapted in the inner
# loop by learn2learn's MAML, second order. Conv-4 keeps the
# second-order graph small; no pre-training.
_base_ = ['brnpa-protonet_resnet12_mini-imagenet_5way-1shot.py']

model = dict(backbone='conv4', widths=(64, 64, 64, 64))
meta = dict(
    algorithm='maml',
    ways=None,  # train_episode.ways
    inner_lr=0.01,
    adaptation_steps=5,
    eval_adaptation_steps=10,
    first_order=False)
pretrain = None
train = dict(episodes=60000, val_interval=2000,
             optimizer=dict(_delete_=True, type='Adam', lr=1e-3),
             scheduler=None)
