# Episodes of any folder with one sub-folder per split and one sub-folder
# of images per class, e.g. a CUB-200-2011 copy split by classes:
#   data/cub-fewshot/train/<class>/*.jpg, .../val/<class>/, .../test/<class>/
_base_ = ['mini-imagenet_5way-1shot.py']

data = dict(
    benchmark='folder',
    root='data/cub-fewshot',
    split_dirs=dict(train='train', validation='val', test='test'),
    image_size=84,
    mean=(0.485, 0.456, 0.406),
    std=(0.229, 0.224, 0.225))
episode = dict(ways=5, shots=5, queries=15)
train_dataloader = dict(dataset=dict(**episode, **data))
val_dataloader = dict(dataset=dict(**episode, **data))
test_dataloader = dict(dataset=dict(**episode, **data))
