# What the three fine-grained datasets share (spec section 5): 448 px crops
# of images resized to 512 x 512, flip and colour jitter for training.
# The dataset files below set the dataset type, folder and classes.
data_preprocessor = dict(
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True,
)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=512, backend='pillow', interpolation='bilinear'),
    dict(type='RandomCrop', crop_size=448),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='ColorJitter', brightness=0.126, saturation=0.5),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=512, backend='pillow', interpolation='bilinear'),
    dict(type='CenterCrop', crop_size=448),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=12,
    num_workers=4,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(pipeline=train_pipeline),
)
test_dataloader = dict(
    batch_size=12,
    num_workers=4,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(pipeline=test_pipeline),
)
test_evaluator = dict(type='Accuracy', topk=(1, ))
val_dataloader = None
val_evaluator = None
