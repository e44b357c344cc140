# Pre-training: batches of the 1100 training characters of Omniglot;
# validation and test on its 5-way 1-shot episodes.
_base_ = ['omniglot_5way-1shot.py']

train_dataloader = dict(
    _delete_=True,
    batch_size=128,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='BRNPABaseClassDataset', benchmark='omniglot',
                 root='data/omniglot', split='train',
                 class_split=(1100, 100, 423), channels=1, image_size=28,
                 mean=(0.5, ), std=(0.5, ), invert=True, augment=False))
