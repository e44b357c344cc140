# The high-resolution student distilled, through mmengine's Runner, from the
# low-resolution teacher trained by tools/train_fewshot.py: train
# configs/fewshot/brnpa-protonet_resnet12-lowres_mini-imagenet_5way-1shot.py
# first (or pass model.distill.teacher_checkpoint=...). For the
# attention-free teacher, use the best.pth of
# configs/fewshot/protonet_resnet12_mini-imagenet_5way-1shot.py and
# teacher_model=dict(high_resolution=False, pooling='average').
# Everything else comes from the ProtoNet config.
_base_ = ['brnpa-protonet_resnet12_mini-imagenet_5way-1shot.py']

model = dict(
    distill=dict(
        _delete_=True,  # None in the base config
        teacher_checkpoint='work_dirs/'
        'brnpa-protonet_resnet12-lowres_mini-imagenet_5way-1shot/best.pth',
        # Overrides of model.learner that give the teacher's architecture.
        teacher_model=dict(high_resolution=False),
        # Hinton KD on the episode logits:
        # alpha * T^2 * KL + (1 - alpha) * CE.
        temperature=1.0,
        alpha=0.5))
