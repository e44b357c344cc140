"""Write BR-NPA's ranked attention maps for images, as PNG files.

    python tools/visualize_attention.py IMAGE_OR_DIR CONFIG CHECKPOINT \
        --out-dir DIR [--device cpu] [--batch-size 8]

Like mmpretrain's ``vis_cam.py``, but the maps are the model's own: for each
image, one PNG with the image the model saw, the three top-ranked maps as
the R, G, B channels of one overlay, and one heatmap per part labelled with
its rank and activity.
"""
import argparse
import os
import sys

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff')


def list_images(path):
    """``path`` itself, or every image file below the folder ``path``."""
    if os.path.isfile(path):
        return [path]
    if not os.path.isdir(path):
        raise FileNotFoundError(f'{path} is neither an image nor a folder')
    found = sorted(
        os.path.join(folder, name) for folder, _, names in os.walk(path)
        for name in names if name.lower().endswith(IMAGE_EXTENSIONS))
    if not found:
        raise FileNotFoundError(
            f'no image ({", ".join(IMAGE_EXTENSIONS)}) found under {path}')
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('images', help='an image file or a folder of images')
    parser.add_argument('config', help='the model config file')
    parser.add_argument('checkpoint', help='checkpoint file or URL')
    parser.add_argument('--out-dir', required=True,
                        help='folder for the PNG files')
    parser.add_argument('--device', default=None, help='e.g. cpu, cuda:0')
    parser.add_argument('--batch-size', type=int, default=8)
    args = parser.parse_args()
    try:
        images = list_images(args.images)
    except FileNotFoundError as error:
        parser.error(str(error))

    from brnpa_plugins.openmmlab import BRNPAInferencer
    inferencer = BRNPAInferencer(args.config, pretrained=args.checkpoint,
                                 device=args.device)
    results = inferencer(images, batch_size=args.batch_size,
                         show_dir=args.out_dir)
    for path, result in zip(images, results):
        name = result.get('pred_class', result['pred_label'])
        activity = ', '.join(f'{a:.2f}' for a in result['part_activity'])
        print(f'{path}: {name} ({result["pred_score"]:.2f}); '
              f'part activity {activity}')
    print(f'{len(results)} figures written to {args.out_dir}', file=sys.stderr)


if __name__ == '__main__':
    from brnpa_plugins.core.noise import quiet_known_noise
    quiet_known_noise()  # before the libraries that print it are imported
    main()
