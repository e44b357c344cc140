# Episodes of learn2learn's mini-ImageNet pickles
# (mini-imagenet-cache-{train,validation,test}.pkl under the root); nothing
# is downloaded. The root is written into the three datasets when this file
# is read: --cfg-options sets train_dataloader.dataset.root and the others.
data = dict(
    benchmark='mini-imagenet',
    root='data/mini-imagenet',
    image_size=84,
    # mini-ImageNet's training mean and standard deviation (learn2learn's
    # 'lee2019' transform).
    mean=(0.4721, 0.4533, 0.4100),
    std=(0.2772, 0.2678, 0.2845))
episode = dict(ways=5, shots=1, queries=15)

# One episode per batch: batch_size=1 and brnpa_episode_collate.
train_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    # Iteration t of process r trains episode t x processes + r.
    sampler=dict(type='BRNPAEpisodeSampler'),
    collate_fn=dict(type='brnpa_episode_collate'),
    # Episode i is drawn with a seed made of (seed, i); num_episodes=None:
    # a new episode at every iteration, as learn2learn's num_tasks=-1 (a
    # number N: the same N episodes over and over).
    dataset=dict(type='BRNPAEpisodeDataset', split='train', augment=True,
                 num_episodes=None, seed=0, **episode, **data))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='brnpa_episode_collate'),
    dataset=dict(type='BRNPAEpisodeDataset', split='validation',
                 num_episodes=600, seed=1, **episode, **data))
test_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='brnpa_episode_collate'),
    dataset=dict(type='BRNPAEpisodeDataset', split='test', num_episodes=600,
                 seed=2, **episode, **data))
# Mean query accuracy over the episodes and its 95% interval, in %.
val_evaluator = dict(type='BRNPAEpisodeAccuracy')
test_evaluator = val_evaluator
