# The authors' default schedule (spec section 5): 50 epochs of SGD, lr 1e-3,
# momentum 0.9, learning rate x 0.9 every 2 epochs, batch 12.
optim_wrapper = dict(optimizer=dict(type='SGD', lr=1e-3, momentum=0.9))
param_scheduler = dict(type='StepLR', by_epoch=True, step_size=2, gamma=0.9)

# No validation loop: CUB-200-2011 and Stanford Cars have no validation
# split, and choosing epochs on the test split would bias the test result.
train_cfg = dict(by_epoch=True, max_epochs=50)
val_cfg = None
test_cfg = dict()

# lr 1e-3 belongs to a total batch of 12 (one GPU). With --auto-scale-lr
# the lr is scaled linearly to the real total batch (x8 on 8 GPUs x 12).
auto_scale_lr = dict(base_batch_size=12)
