"""Compare saliency maps on a test set: faithfulness, ground truth, controls.

    python tools/eval_saliency.py CONFIG CHECKPOINT [--name BR-NPA]
        [--methods attention norm ...] [--controls random gaussian ...]
        [--cnn-config CONFIG --cnn-checkpoint CKPT --cnn-methods gradcam ...]
        [--attention-model NAME CONFIG CHECKPOINT] ...
        [--num-images N] [--perturbation-images P] [--max-steps 196]
        [--random-seeds 10] [--method-option rise.num_masks=4000] [--sanity]
        [--batch-size 64] [--out-dir DIR] [--device cpu]

See :mod:`brnpa_plugins.openmmlab.benchmark` (the options and the files
written) and :mod:`brnpa_plugins.evaluation.benchmark` (what is scored).
"""
import os
import sys

# Score-CAM and Ablation-CAM of the grad-cam package draw a progress bar per
# image; tqdm reads this when it is imported.
os.environ.setdefault('TQDM_DISABLE', '1')

if __name__ == '__main__':
    from brnpa_plugins.core.noise import quiet_known_noise
    quiet_known_noise()  # before the libraries that print it are imported
    from brnpa_plugins.openmmlab.benchmark import main
    sys.exit(main())
