# MAML on BR-NPA: the whole network (Conv-4 embedding, BR-NPA grouping and
# a linear head on the concatenated part vectors) is adapted on each
# support set by learn2learn's MAML, second order. Conv-4 keeps the
# second-order graph small; no pre-training. As learn2learn's
# maml_miniimagenet.py: 60k outer steps of 32 tasks each (meta_batch_size),
# the gradients of the 32 query losses averaged (mmengine's
# accumulative_counts); an iteration is one episode, so 60k x 32 of them.
_base_ = ['brnpa-protonet_resnet12_mini-imagenet_5way-1shot.py']

model = dict(
    learner=dict(backbone='conv4', widths=(64, 64, 64, 64)),
    pretrained=None,
    meta=dict(
        _delete_=True,  # None in the base config
        algorithm='maml',
        ways=5,  # the episodes' ways
        inner_lr=0.01,
        adaptation_steps=5,
        eval_adaptation_steps=10,
        first_order=False,
        # Validation and test adapt with the batch statistics of the support
        # set and score with those of the queries, as learn2learn's
        # examples do; 'running': batch norm's running statistics.
        eval_batch_norm='batch'))
meta_batch_size = 32
train_cfg = dict(max_iters=60000 * meta_batch_size,
                 val_interval=2000 * meta_batch_size)
default_hooks = dict(checkpoint=dict(interval=2000 * meta_batch_size))
optim_wrapper = dict(optimizer=dict(_delete_=True, type='Adam', lr=1e-3),
                     accumulative_counts=meta_batch_size)
param_scheduler = None
