# Stanford Cars: data_root holds cars_annos.mat and car_ims/, or devkit/,
# cars_train/ and cars_test/.
_base_ = ['./fine-grained_bs12_448.py']

data_root = 'data/stanford_cars'
data_preprocessor = dict(num_classes=196)
train_dataloader = dict(
    dataset=dict(type='CheckedStanfordCars', data_root=data_root,
                 split='train'))
test_dataloader = dict(
    dataset=dict(type='CheckedStanfordCars', data_root=data_root,
                 split='test'))
