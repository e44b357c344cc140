# BR-NPA prototypical network, 5-way 1-shot on mini-ImageNet: 20k episodes
# from the base-class pre-training, validated and tested on fixed episodes
# (BRNPAEpisodeAccuracy, in percent). Pre-train first:
#   python tools/train_fewshot.py \
#       configs/fewshot/brnpa-pretrain_resnet12_1xb128-100e_mini-imagenet.py
_base_ = [
    '_base_/models/brnpa-protonet_resnet12.py',
    '_base_/datasets/mini-imagenet_5way-1shot.py',
    '_base_/schedules/episodic-20k.py',
    '_base_/default_runtime.py',
]

model = dict(
    type='BRNPAFewShotModel',
    # The learner weights of the pre-training (same model.learner); None:
    # the initialisation.
    pretrained='work_dirs/brnpa-pretrain_resnet12_1xb128-100e_mini-imagenet/'
    'epoch_100.pth',
    # meta=dict(algorithm='anil', ways=5, ...) trains ANIL (or 'maml')
    # instead (see brnpa-anil_resnet12_mini-imagenet_5way-1shot.py).
    meta=None,
    # Distillation from a frozen teacher (see
    # brnpa-protonet-kd_resnet12_mini-imagenet_5way-1shot.py); None:
    # cross-entropy.
    distill=None)
