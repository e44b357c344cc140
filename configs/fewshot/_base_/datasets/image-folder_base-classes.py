# Pre-training: batches of the training classes of an image folder;
# validation and test on its 5-way 5-shot episodes.
_base_ = ['image-folder_5way-5shot.py']

train_dataloader = dict(
    _delete_=True,
    batch_size=128,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='BRNPABaseClassDataset', benchmark='folder',
                 root='data/cub-fewshot',
                 split_dirs=dict(train='train', validation='val',
                                 test='test'),
                 split='train', image_size=84, mean=(0.485, 0.456, 0.406),
                 std=(0.229, 0.224, 0.225), augment=True))
