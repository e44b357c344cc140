# BR-NPA on the few-shot ResNet-12 (64/160/320/640), high resolution: no
# pooling after layer2, so 84 px images give 21 x 21 maps; N=3 parts.
# `learner` holds the BRNPAProtoNet arguments, shared by the pre-training
# (BRNPAPretrainModel) and the episodic (BRNPAFewShotModel) configs, which
# set the model type.
model = dict(
    learner=dict(
        backbone='resnet12',
        widths=(64, 160, 320, 640),
        high_resolution=True,
        in_channels=3,
        num_parts=3,
        pooling='brnpa',
        metric='euclidean',
        partwise=False,
        scale=None,
        learn_scale=False,
        brnpa=dict(refine=True, seed='max', activity='attended_norm',
                   sort_by_activity=False)))
