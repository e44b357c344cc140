# Pre-training: batches of the 64 training classes of mini-ImageNet (class
# index 0..63); validation and test on the 5-way 1-shot episodes.
_base_ = ['mini-imagenet_5way-1shot.py']

train_dataloader = dict(
    _delete_=True,
    batch_size=128,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='BRNPABaseClassDataset', benchmark='mini-imagenet',
                 root='data/mini-imagenet', split='train', image_size=84,
                 mean=(0.4721, 0.4533, 0.4100), std=(0.2772, 0.2678, 0.2845),
                 augment=True))
