"""How much the norm of the map BR-NPA groups varies from place to place.

    python tools/feature_norm_spread.py CONFIG CHECKPOINT [--images 64]
        [--cfg-options KEY=VALUE ...]

BR-NPA ranks locations by the norm of their feature vector (spec section 2),
so it needs a map whose norm differs between places. The tool runs the test
images of CONFIG through the model and prints, for the map its neck receives
(the backbone's last output), the coefficient of variation of the per-location
L2 norm (standard deviation over mean, per image, then the mean over images)
before and after the neck's ReLU. A map that comes out of a LayerNorm has
nearly the same norm everywhere: a coefficient near 0.
"""
import argparse

import torch
from mmengine.config import Config, DictAction
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

import brnpa_plugins.openmmlab  # noqa: F401


def coefficient_of_variation(maps: torch.Tensor) -> torch.Tensor:
    """B x C x h x w -> B: std / mean of the L2 norm over locations."""
    norms = maps.float().norm(dim=1).flatten(1)
    return norms.std(dim=1) / norms.mean(dim=1).clamp_min(1e-12)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--images', type=int, default=64,
                        help='test images to use (the first ones)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    cfg.work_dir = cfg.get('work_dir') or 'work_dirs/feature_norm_spread'
    cfg.load_from = args.checkpoint
    cfg.test_dataloader.update(num_workers=0, persistent_workers=False)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope',
                                                      'mmpretrain')):
        runner = Runner.from_cfg(cfg)
        runner.load_or_resume()
        model = runner.model.eval()
        spreads = {'features': [], 'after ReLU': []}
        seen = 0
        with torch.no_grad():
            for batch in runner.test_dataloader:
                inputs = model.data_preprocessor(batch, False)['inputs']
                maps = model.backbone(inputs)[-1]
                spreads['features'].append(coefficient_of_variation(maps))
                spreads['after ReLU'].append(
                    coefficient_of_variation(maps.relu()))
                seen += len(inputs)
                if seen >= args.images:
                    break
    for name, values in spreads.items():
        values = torch.cat(values)[:args.images]
        print(f'{name}: coefficient of variation of the feature norm over '
              f'locations {values.mean():.3f} (mean over {len(values)} test '
              f'images; min {values.min():.3f}, max {values.max():.3f})')


if __name__ == '__main__':
    main()
