# CUB-200-2011: data_root is the extracted CUB_200_2011 folder.
_base_ = ['./fine-grained_bs12_448.py']

data_root = 'data/CUB_200_2011'
data_preprocessor = dict(num_classes=200)
train_dataloader = dict(
    dataset=dict(type='CheckedCUB', data_root=data_root, split='train'))
test_dataloader = dict(
    dataset=dict(type='CheckedCUB', data_root=data_root, split='test'))
