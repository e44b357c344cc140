# Omniglot (1-channel characters, 28 px) through learn2learn's MetaDataset:
# the extracted omniglot-py/images_{background,evaluation} folders under
# data.root, cut into 1100/100/423 characters with a fixed seed. The
# backbone takes one input channel (model.in_channels follows the data).
_base_ = [
    '_base_/models/brnpa-protonet_resnet12.py',
    '_base_/schedules/pretrain-100e_episodic-20k.py',
    '_base_/default_runtime.py',
]

data = dict(
    benchmark='omniglot',
    root='data/omniglot',
    class_split=(1100, 100, 423),
    channels=1,
    image_size=28,
    # Grey images: one value per channel.
    mean=(0.5, ),
    std=(0.5, ),
    augment=False,
    num_workers=4)
train_episode = dict(ways=5, shots=1, queries=15)
test_episode = dict(ways=5, shots=1, queries=5)
