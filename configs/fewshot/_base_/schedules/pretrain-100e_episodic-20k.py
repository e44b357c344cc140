# 1. Classification of all base classes with a linear layer (the scheduler
#    steps once per epoch); set `pretrain = None` to skip it.
pretrain = dict(
    epochs=100,
    batch_size=128,
    dropout=0.5,
    optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=5e-4,
                   nesterov=True),
    scheduler=dict(type='CosineAnnealingLR', T_max=100))
# 2. Episodic training (the scheduler steps once per episode), validated and
#    checkpointed every `val_interval` episodes; `episodes=0` skips it.
train = dict(
    episodes=20000,
    val_interval=1000,
    optimizer=dict(type='SGD', lr=1e-3, momentum=0.9, weight_decay=5e-4,
                   nesterov=True),
    scheduler=dict(type='StepLR', step_size=5000, gamma=0.5))
# Validation and test episodes are drawn with fixed seeds, so every run and
# every validation sees the same episodes.
val = dict(episodes=600, seed=1)
test = dict(episodes=600, seed=2)
