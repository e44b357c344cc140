# The high-resolution student distilled from the low-resolution teacher:
# train brnpa-protonet_resnet12-lowres_mini-imagenet_5way-1shot.py first.
# For the attention-free teacher, use the best.pth of
# protonet_resnet12_mini-imagenet_5way-1shot.py and
# teacher_model=dict(high_resolution=False, pooling='average').
_base_ = ['brnpa-protonet_resnet12_mini-imagenet_5way-1shot.py']

distill = dict(
    teacher_checkpoint='work_dirs/'
    'brnpa-protonet_resnet12-lowres_mini-imagenet_5way-1shot/best.pth',
    # Overrides of `model` that give the teacher's architecture.
    teacher_model=dict(high_resolution=False),
    # Hinton KD on the episode logits: alpha * T^2 * KL + (1 - alpha) * CE.
    temperature=1.0,
    alpha=0.5)
