# ANIL on BR-NPA: a linear head on the concatenated part vectors is adapted
# on each support set (learn2learn's MAML on the head only); the query loss
# trains the embedding and the head's initial weights. Pre-training,
# episodes, validation and test come from the ProtoNet config. As
# learn2learn's ANIL example, 32 tasks per outer step (meta_batch_size; the
# gradients of their query losses averaged by mmengine's
# accumulative_counts): the ProtoNet config's 20k steps, of 32 episodes.
_base_ = ['brnpa-protonet_resnet12_mini-imagenet_5way-1shot.py']

model = dict(
    meta=dict(
        _delete_=True,  # None in the base config
        algorithm='anil',
        ways=5,  # the episodes' ways
        inner_lr=0.1,
        adaptation_steps=5,
        eval_adaptation_steps=10,
        first_order=False,
        # Validation and test adapt with the batch statistics of the support
        # set and score with those of the queries, as learn2learn's
        # examples do; 'running': batch norm's running statistics.
        eval_batch_norm='batch'))
train_cfg = dict(max_iters=20000 * 32,
                 val_interval=1000 * 32)
default_hooks = dict(checkpoint=dict(interval=1000 * 32))
optim_wrapper = dict(optimizer=dict(_delete_=True, type='Adam', lr=1e-3),
                     accumulative_counts=32)
param_scheduler = None
