# The high-resolution student distilled from the low-resolution teacher:
# train brnpa-protonet_resnet12-lowres_mini-imagenet_5way-1shot.py first.
# The teacher is its last checkpoint; pass
# model.distill.teacher_checkpoint=.../best_fewshot_accuracy_iter_N.pth for
# its best one. For the attention-free teacher, use a checkpoint of
# protonet_resnet12_mini-imagenet_5way-1shot.py and
# teacher_model=dict(high_resolution=False, pooling='average').
# Pre-training and episodes come from the ProtoNet config.
_base_ = ['brnpa-protonet_resnet12_mini-imagenet_5way-1shot.py']

model = dict(
    distill=dict(
        _delete_=True,  # None in the base config
        teacher_checkpoint='work_dirs/brnpa-protonet_resnet12-lowres_'
        'mini-imagenet_5way-1shot/iter_20000.pth',
        # Overrides of model.learner that give the teacher's architecture.
        teacher_model=dict(high_resolution=False),
        # Hinton KD on the episode logits:
        # alpha * T^2 * KL + (1 - alpha) * CE.
        temperature=1.0,
        alpha=0.5))
