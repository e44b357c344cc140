"""The Python steps of tools/gpu_check.sh that no other tool runs.

    python tools/gpu_check.py maps --device cuda --config CONFIG --size 448
        [--batch 2] --out FILE.md
    python tools/gpu_check.py reid-amp-step --device cuda --root DATA
        [--model brnpa_resnet50] [--height 256 --width 128] --out FILE.md

``maps``: the BR-NPA maps of one model (random weights, seed 0) on
``--device`` against the CPU, in float32 (TF32 off) and under autocast:

- the grouping (the config's neck) on the same backbone features,
- the whole model on the same images,
- the whole model under autocast on ``--device`` (float16 on a GPU,
  bfloat16 on a CPU) against float32 on the CPU, reported without a bound.

``reid-amp-step``: one training step of a BR-NPA torchreid model under
autocast (float16 with a gradient scaler on a GPU, bfloat16 on a CPU), on a
batch of torchreid's own data loader of a Market-1501 folder.

Each writes a Markdown table to ``--out`` and exits with status 1 when a
check fails.
"""
import argparse
import copy
import os
import sys
from typing import List

import torch

from brnpa_plugins.core import atomic_write_text
from brnpa_plugins.profiling import build_random_model, check_device, is_cuda

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REID_CONFIG = os.path.join(REPO, 'configs', 'reid',
                           'brnpa_r50_softmax_256x128_market1501.yaml')
#: Largest difference to the CPU float32 maps, relative to their largest
#: value: the grouping on the same features, and the whole model (other
#: convolution algorithms sum in other orders).
GROUPING_TOLERANCE, MODEL_TOLERANCE = 1e-5, 1e-3


def autocast_dtype(device) -> torch.dtype:
    """The mixed-precision dtype of the training tools on ``device``."""
    return torch.float16 if is_cuda(device) else torch.bfloat16


def relative_difference(actual, expected) -> float:
    """max |actual - expected| / max |expected|, in float64."""
    expected = expected.double().cpu()
    scale = expected.abs().max().clamp_min(1e-30)
    return float((actual.double().cpu() - expected).abs().max() / scale)


def compare_parts(name: str, parts, reference, tolerance) -> List[str]:
    """One table row: seeds, attention, features and norm against the
    reference (the CPU float32 ``BRNPAOutput``)."""
    seeds = float((parts.seeds.cpu() == reference.seeds).float().mean())
    diffs = [relative_difference(getattr(parts, field),
                                 getattr(reference, field))
             for field in ('attention', 'features', 'norm')]
    if tolerance is None:
        verdict = 'reported'
    else:
        verdict = ('ok' if seeds == 1 and max(diffs) <= tolerance else
                   'FAILED')
    bound = '-' if tolerance is None else f'{tolerance:g}'
    return [name, f'{seeds:.3f}', *(f'{d:.2e}' for d in diffs), bound,
            verdict]


def check_maps(args) -> bool:
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.manual_seed(0)
    model, _ = build_random_model(args.config)
    model.eval()
    images = torch.randn(args.batch, 3, args.size, args.size,
                         generator=torch.Generator().manual_seed(0))
    other = copy.deepcopy(model).to(args.device)
    on_device = images.to(args.device)
    with torch.no_grad():
        features = model.extract_feat(images, stage='backbone')
        reference = model.neck(features).parts
        rows = [compare_parts(
            'grouping on the same features',
            other.neck(tuple(f.to(args.device) for f in features)).parts,
            reference, GROUPING_TOLERANCE)]
        rows.append(compare_parts(
            'whole model, float32',
            other.neck(other.extract_feat(on_device, stage='backbone')).parts,
            reference, MODEL_TOLERANCE))
        dtype = autocast_dtype(args.device)
        with torch.autocast(torch.device(args.device).type, dtype=dtype):
            mixed = other.neck(other.extract_feat(on_device,
                                                  stage='backbone')).parts
        rows.append(compare_parts(
            f'whole model, autocast {str(dtype).replace("torch.", "")}',
            mixed, reference, None))
    grid = 'x'.join(map(str, reference.attention.shape[-2:]))
    header = (f'{os.path.basename(args.config)}, random weights, '
              f'{args.batch} images of {args.size} px ({grid} maps): '
              f'{args.device} against the CPU in float32. Differences are '
              'the largest absolute difference over the largest CPU value.')
    table = markdown_table(
        ['comparison', 'seeds equal (fraction)', 'attention', 'part vectors',
         'norm map', 'bound', 'result'], rows)
    atomic_write_text(args.out, f'{header}\n\n{table}')
    return all(row[-1] != 'FAILED' for row in rows)


def reid_amp_step(args) -> bool:
    import torchreid

    import brnpa_plugins.reid  # noqa: F401  (registers the BR-NPA models)
    from brnpa_plugins.reid.build import (build_datamanager, build_engine,
                                          build_model)
    from brnpa_plugins.reid.config import build_config, optimizer_kwargs
    cuda = is_cuda(args.device)
    cfg = build_config(REID_CONFIG, [
        'model.name', args.model, 'model.pretrained', 'False',
        'data.height', str(args.height), 'data.width', str(args.width),
        'data.workers', '0', 'train.batch_size', str(args.batch),
        'use_gpu', str(cuda), 'data.save_dir', args.work_dir
    ], root=args.root)
    torch.manual_seed(0)
    datamanager = build_datamanager(cfg)
    model = build_model(cfg, datamanager.num_train_pids).train()
    optimizer = torchreid.optim.build_optimizer(model,
                                                **optimizer_kwargs(cfg))
    engine = build_engine(cfg, datamanager, model, optimizer, None)
    images, pids = engine.parse_data_for_train(
        next(iter(datamanager.train_loader)))
    images, pids = images.to(args.device), pids.to(args.device)
    grouped = []
    model.attention.register_forward_pre_hook(
        lambda module, inputs: grouped.append(inputs[0].dtype))
    dtype = autocast_dtype(args.device)
    device_type = torch.device(args.device).type
    scaler = torch.amp.GradScaler(device_type,
                                  enabled=dtype == torch.float16)
    before = [p.detach().clone() for p in model.parameters()]
    with torch.autocast(device_type, dtype=dtype):
        loss = engine.compute_loss(engine.criterion, model(images), pids)
    optimizer.zero_grad()
    scaler.scale(loss).backward()
    scaler.step(optimizer)
    scaler.update()
    changed = any(not torch.equal(a, b)
                  for a, b in zip(before, model.parameters()))
    passed = bool(torch.isfinite(loss)) and changed
    rows = [[args.model, f'{args.batch} x {args.height}x{args.width}',
             str(dtype).replace('torch.', ''),
             str(grouped[0]).replace('torch.', '') if grouped else '-',
             f'{float(loss.detach()):.4f}', 'yes' if changed else 'no',
             'ok' if passed else 'FAILED']]
    table = markdown_table(
        ['model', 'batch', 'autocast', 'features grouped in', 'loss',
         'weights updated', 'result'], rows)
    atomic_write_text(args.out, table)
    return passed


def markdown_table(header: List[str], rows: List[List[str]]) -> str:
    lines = [f'| {" | ".join(header)} |', '|' + '---|' * len(header)]
    lines += [f'| {" | ".join(row)} |' for row in rows]
    return '\n'.join(lines) + '\n'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    steps = parser.add_subparsers(dest='step', required=True)
    maps = steps.add_parser('maps', help='device against CPU maps')
    maps.add_argument('--config', required=True,
                      help='an mmpretrain config of a BR-NPA classifier')
    maps.add_argument('--size', type=int, default=448)
    maps.add_argument('--batch', type=int, default=2)
    reid = steps.add_parser('reid-amp-step',
                            help='one torchreid training step under AMP')
    reid.add_argument('--root', required=True,
                      help='data root holding market1501/')
    reid.add_argument('--model', default='brnpa_resnet50')
    reid.add_argument('--height', type=int, default=256)
    reid.add_argument('--width', type=int, default=128)
    reid.add_argument('--batch', type=int, default=16)
    reid.add_argument('--work-dir', default='work_dirs/gpu_check_reid')
    for step in (maps, reid):
        step.add_argument('--device', default='cuda',
                          help='cpu, cuda or cuda:N')
        step.add_argument('--out', required=True,
                          help='the Markdown table goes here')
    args = parser.parse_args(argv)
    check_device(parser, args.device)
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    passed = (check_maps if args.step == 'maps' else reid_amp_step)(args)
    return 0 if passed else 1


if __name__ == '__main__':
    sys.exit(main())
