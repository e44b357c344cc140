seed = 0
device = None  # 'cuda' when available, else 'cpu'
progress = True  # tqdm progress bars
# Ranked maps of the support and query images of one test episode, written
# to WORK_DIR/maps/; set to None to skip.
visualize = dict(max_images=5)
# Knowledge distillation from a frozen teacher is off unless a config sets
# `distill` (see brnpa-protonet-kd_resnet12_mini-imagenet_5way-1shot.py).
