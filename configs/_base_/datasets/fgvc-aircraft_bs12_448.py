# FGVC-Aircraft (variants): data_root is the extracted fgvc-aircraft-2013b
# folder. Training uses train + val, as no epoch is chosen on validation.
_base_ = ['./fine-grained_bs12_448.py']

data_root = 'data/fgvc-aircraft-2013b'
data_preprocessor = dict(num_classes=100)
train_dataloader = dict(
    dataset=dict(type='CheckedFGVCAircraft', data_root=data_root,
                 split='trainval'))
test_dataloader = dict(
    dataset=dict(type='CheckedFGVCAircraft', data_root=data_root,
                 split='test'))
