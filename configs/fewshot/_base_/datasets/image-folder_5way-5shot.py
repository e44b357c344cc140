# Any folder with one sub-folder per split and one sub-folder of images per
# class, e.g. a CUB-200-2011 copy split by classes:
#   data/cub-fewshot/train/<class>/*.jpg, .../val/<class>/, .../test/<class>/
data = dict(
    benchmark='folder',
    root='data/cub-fewshot',
    split_dirs=dict(train='train', validation='val', test='test'),
    image_size=84,
    mean=(0.485, 0.456, 0.406),
    std=(0.229, 0.224, 0.225),
    augment=True,
    num_workers=4)
train_episode = dict(ways=5, shots=5, queries=15)
test_episode = dict(ways=5, shots=5, queries=15)
