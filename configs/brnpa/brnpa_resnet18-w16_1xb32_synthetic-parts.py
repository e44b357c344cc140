# BR-NPA on the generated ground-truth benchmark (tools/make_synthetic_dataset.py):
# 6 classes, each a way of painting three rimmed shapes, among rimless
# distractors of the same shapes and colours (brnpa_plugins/data/synthetic.py).
# A narrow ResNet-18 (16 base channels) trained from scratch on 96 px images;
# layer3 and layer4 keep stride 1 (the high-resolution form of spec section 1),
# so the attention maps are 12 x 12 (stride 8), ranked by activity.
# Runs on 2 CPU cores in a few minutes.
_base_ = ['../_base_/default_runtime.py']

data_root = 'data/synthetic_parts'
num_classes = 6
num_parts = 3
channels = 128  # 8 x base_channels, the output of a ResNet-18's layer4

model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='ResNet',
        depth=18,
        stem_channels=16,
        base_channels=16,
        strides=(1, 2, 1, 1),
        out_indices=(3, )),
    neck=dict(
        type='BRNPANeck',
        in_channels=channels,
        num_parts=num_parts,
        sort_by_activity=True),
    head=dict(
        type='BRNPAHead',
        num_classes=num_classes,
        in_channels=channels,
        num_parts=num_parts,
        dropout=0.1,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, )))

data_preprocessor = dict(
    num_classes=num_classes,
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=32,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type='CheckedCUB',
        data_root=data_root,
        split='train',
        classes='class_names.txt',  # in data_root
        pipeline=train_pipeline))
test_dataloader = dict(
    batch_size=64,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='CheckedCUB',
        data_root=data_root,
        split='test',
        classes='class_names.txt',  # in data_root
        pipeline=test_pipeline))
test_evaluator = dict(type='Accuracy', topk=(1, ))
# No validation during training: the test split is only used once, at the
# end, so no choice is made on it.
val_dataloader = None
val_evaluator = None
val_cfg = None

optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=3e-3, weight_decay=1e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=20),
    dict(type='CosineAnnealingLR', by_epoch=True, T_max=12,
         convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=12, val_interval=1)
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=32)

default_hooks = dict(logger=dict(interval=10))
