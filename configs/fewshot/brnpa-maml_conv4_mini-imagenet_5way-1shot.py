# MAML on BR-NPA: the whole network (Conv-4 embedding, BR-NPA grouping and
# a linear head on the concatenated part vectors) is adapted on each
# support set by learn2learn's MAML, second order. Conv-4 keeps the
# second-order graph small; no pre-training. The rest is the ANIL config's:
# 5 adaptation steps (10 at validation and test), batch statistics at
# meta-test, Adam 1e-3, 32 tasks per outer step (accumulative_counts). As
# learn2learn's maml_miniimagenet.py: 60k outer steps, so 60k x 32
# iterations (one episode each).
_base_ = ['brnpa-anil_resnet12_mini-imagenet_5way-1shot.py']

model = dict(
    learner=dict(backbone='conv4', widths=(64, 64, 64, 64)),
    pretrained=None,
    meta=dict(algorithm='maml', inner_lr=0.01))
train_cfg = dict(max_iters=60000 * 32, val_interval=2000 * 32)
default_hooks = dict(checkpoint=dict(interval=2000 * 32))
