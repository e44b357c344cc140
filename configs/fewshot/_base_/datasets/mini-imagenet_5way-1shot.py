# learn2learn's mini-ImageNet pickles (mini-imagenet-cache-{train,validation,
# test}.pkl) under data.root; nothing is downloaded.
data = dict(
    benchmark='mini-imagenet',
    root='data/mini-imagenet',
    image_size=84,
    # The mean and standard deviation of mini-ImageNet's training images,
    # as learn2learn's 'lee2019' benchmark transform uses them.
    mean=(0.4721, 0.4533, 0.4100),
    std=(0.2772, 0.2678, 0.2845),
    augment=True,
    num_workers=4)
train_episode = dict(ways=5, shots=1, queries=15)
test_episode = dict(ways=5, shots=1, queries=15)
