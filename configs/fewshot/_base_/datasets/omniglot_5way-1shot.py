# Omniglot episodes (1-channel characters, 28 px) through learn2learn's
# MetaDataset: the extracted omniglot-py/images_{background,evaluation}
# folders under the root, cut into 1100/100/423 characters with a fixed
# seed (class_split). As learn2learn's get_tasksets('omniglot'): the pixels
# become 1 - x (white strokes on black), and every episode is rotated by
# learn2learn's RandomClassRotation (0, 90, 180 or 270 degrees); invert=False
# and class_rotations=() turn them off.
_base_ = ['mini-imagenet_5way-1shot.py']

data = dict(
    benchmark='omniglot',
    root='data/omniglot',
    class_split=(1100, 100, 423),
    channels=1,
    image_size=28,
    # Grey images: one value per channel.
    mean=(0.5, ),
    std=(0.5, ),
    invert=True)
rotations = dict(class_rotations=(0.0, 90.0, 180.0, 270.0))
train_dataloader = dict(dataset=dict(augment=False, ways=5, shots=1,
                                     queries=15, **rotations, **data))
val_dataloader = dict(dataset=dict(ways=5, shots=1, queries=5, **rotations,
                                   **data))
test_dataloader = dict(dataset=dict(ways=5, shots=1, queries=5, **rotations,
                                    **data))
