# ANIL on BR-NPA: a linear head on the concatenated part vectors is adapted
# in the inner loop (learn2learn's MAML on the head only); the query loss
# trains the embedding and the head's initial weights. Base-class
# pre-training and the episodic schedule come from the ProtoNet config.
_base_ = ['brnpa-protonet_resnet12_mini-imagenet_5way-1shot.py']

meta = dict(
    algorithm='anil',
    ways=None,  # train_episode.ways
    inner_lr=0.1,
    adaptation_steps=5,
    eval_adaptation_steps=10,
    first_order=False)
train = dict(optimizer=dict(_delete_=True, type='Adam', lr=1e-3),
             scheduler=None)
