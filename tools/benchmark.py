"""How much BR-NPA costs, measured as ratios in one run.

    python tools/benchmark.py [--device cpu|cuda] [--threads N] [--repeats 3]
        [--only neck explanation evaluation training] [--size 448]
        [--autocast]
        [--grouping-size 224] [--grouping-batch 2] [--explain-size 112]
        [--rise-masks 1000] [--eval-images 8] [--train-batch 2]
        [--out FILE.md]

Four comparisons, each timed side by side (the two sides alternate within
every repeat and the medians are compared; the table also gives the fastest
and slowest repeat of each side and of their ratio), on randomly
initialised mmpretrain ResNets:

1. neck: the BR-NPA neck's forward time (the grouping, N = 3) over the
   backbone's, ResNet-50 at ``--size`` px, one image, low resolution
   (strides 1,2,2,2) and high resolution (strides 1,2,1,1), and high
   resolution for ``--grouping-batch`` images of ``--grouping-size`` px
   (``--autocast``: both under autocast);
2. explanation: the time to explain one image with BR-NPA (the maps come
   with the prediction: one forward pass) against Grad-CAM, Score-CAM and
   RISE on the same ResNet-50 BR-NPA classifier at ``--explain-size`` px;
3. evaluation: deletion + insertion curves of ``--eval-images`` images on
   the demo network (ResNet-18 with 16 base channels, 96 px, 12 x 12 maps,
   144 steps), as curve points per second (images x (steps + 1) x 2) over
   the images per second of plain forward passes in batches of the same
   size; the unperturbed image is scored once for both curves, so the
   evaluation runs images x (2 steps + 1) forward passes;
4. training: one SGD step of ResNet-50 + BR-NPA neck and head over ResNet-50
   + global average pooling and a linear head, ``--train-batch`` images of
   ``--size`` px, low resolution.
"""
import argparse
import os
import statistics
import sys
import time
from typing import Callable, Dict, List, NamedTuple, Tuple

# Score-CAM of the grad-cam package draws a progress bar; tqdm reads this
# when it is imported.
os.environ.setdefault('TQDM_DISABLE', '1')

import torch  # noqa: E402

import brnpa_plugins.openmmlab  # noqa: E402,F401
from brnpa_plugins.evaluation import (compute_saliency,  # noqa: E402
                                      perturbation_curves, step_plan)
from brnpa_plugins.core import atomic_write_text  # noqa: E402
from brnpa_plugins.core.checks import check_positive_options  # noqa: E402
from brnpa_plugins.profiling import (check_device, machine,  # noqa: E402
                                     synchronize)
from brnpa_plugins.openmmlab.saliency_metric import \
    saliency_context  # noqa: E402

LOW_RES, HIGH_RES = (1, 2, 2, 2), (1, 2, 1, 1)


class Row(NamedTuple):
    """One comparison: the seconds of each repeat of its two sides."""
    name: str
    a: List[float]
    b: List[float]
    aim: str

    def ratio(self) -> float:
        """The ratio of the medians."""
        return statistics.median(self.a) / statistics.median(self.b)

    def ratio_spread(self) -> Tuple[float, float]:
        """The smallest and largest ratio of one repeat of A to the B of
        the same repeat (to each repeat of B when A ran once)."""
        pairs = (zip(self.a, self.b) if len(self.a) == len(self.b) else
                 ((a, b) for a in self.a for b in self.b))
        ratios = [a / b for a, b in pairs]
        return min(ratios), max(ratios)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--device', default='cpu',
                        help='cpu, cuda or cuda:N')
    parser.add_argument('--threads', type=int, default=None,
                        help='CPU threads of torch (default: its own)')
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--only', nargs='+', choices=list(SECTIONS),
                        default=list(SECTIONS),
                        help='run these comparisons only')
    parser.add_argument('--size', type=int, default=448,
                        help='input size of the neck and training runs')
    parser.add_argument('--grouping-size', type=int, default=224,
                        help='input size of the batched high-res neck run')
    parser.add_argument('--grouping-batch', type=int, default=2,
                        help='images of the batched high-res neck run')
    parser.add_argument('--autocast', action='store_true',
                        help='run the neck comparison under autocast, as '
                        'mixed-precision training does (float16 on a GPU, '
                        'bfloat16 on a CPU)')
    parser.add_argument('--explain-size', type=int, default=112)
    parser.add_argument('--rise-masks', type=int, default=1000)
    parser.add_argument('--eval-images', type=int, default=8)
    parser.add_argument('--batch-size', type=int, default=64,
                        help='forward batch of Score-CAM, RISE and the '
                        'evaluation')
    parser.add_argument('--train-batch', type=int, default=2)
    parser.add_argument('--depth', type=int, default=50,
                        help='ResNet depth of comparisons 1, 2 and 4')
    parser.add_argument('--out', help='also write the table to this file')
    args = parser.parse_args(argv)
    check_device(parser, args.device)
    check_positive_options(parser, args, (
        'threads', 'repeats', 'size', 'grouping_size', 'grouping_batch',
        'explain_size', 'rise_masks', 'eval_images', 'batch_size',
        'train_batch'))
    return args


class Timer:
    """Wall times of functions run alternately, one warm-up call each."""

    def __init__(self, device: torch.device, repeats: int):
        self.device = device
        self.repeats = repeats

    def _once(self, fn: Callable) -> float:
        # The GPU runs ahead of Python: wait for what is queued before
        # starting the clock, and for fn's own work before stopping it.
        synchronize(self.device)
        start = time.perf_counter()
        fn()
        synchronize(self.device)
        return time.perf_counter() - start

    def compare(self, fns: Dict[str, Callable], repeats: int = None,
                warmup: bool = True) -> Dict[str, List[float]]:
        """The seconds of each repeat of each function."""
        for fn in fns.values() if warmup else ():
            self._once(fn)
        times: Dict[str, List[float]] = {name: [] for name in fns}
        for _ in range(repeats or self.repeats):
            for name, fn in fns.items():
                times[name].append(self._once(fn))
        return times


def classifier(depth: int, strides, neck: str, device, num_classes=200,
               base_channels: int = 64):
    """An mmpretrain ImageClassifier with the BR-NPA or GAP neck."""
    from mmpretrain.registry import MODELS
    channels = base_channels * (32 if depth >= 50 else 8)
    if neck == 'brnpa':
        neck_cfg = dict(type='BRNPANeck', in_channels=channels, num_parts=3)
        head = dict(type='BRNPAHead', num_classes=num_classes,
                    in_channels=channels, num_parts=3)
    else:
        neck_cfg = dict(type='GlobalAveragePooling')
        head = dict(type='LinearClsHead', num_classes=num_classes,
                    in_channels=channels)
    model = MODELS.build(
        dict(type='ImageClassifier',
             backbone=dict(type='ResNet', depth=depth, strides=strides,
                           stem_channels=base_channels,
                           base_channels=base_channels),
             neck=neck_cfg,
             head=dict(head, loss=dict(type='CrossEntropyLoss'))))
    return model.to(device).eval()


def neck_overhead(args, timer, device) -> List[Row]:
    rows = []
    dtype = torch.float16 if device.type == 'cuda' else torch.bfloat16
    precision = (f', autocast {str(dtype).replace("torch.", "")}'
                 if args.autocast else '')
    for name, strides, size, batch, aim in (
            ('low-res', LOW_RES, args.size, 1, '<= 0.03'),
            ('high-res', HIGH_RES, args.size, 1, '<= 0.03'),
            ('high-res', HIGH_RES, args.grouping_size, args.grouping_batch,
             '<= 0.01')):
        model = classifier(args.depth, strides, 'brnpa', device)
        images = torch.randn(batch, 3, size, size, device=device)
        with torch.no_grad(), torch.autocast(device.type, dtype=dtype,
                                             enabled=args.autocast):
            features = model.backbone(images)
            times = timer.compare({
                'backbone': lambda: model.backbone(images),
                'neck': lambda: model.neck(features),
            })
        grid = 'x'.join(map(str, features[-1].shape[-2:]))
        images_text = f'{batch} x {size} px' if batch > 1 else f'{size} px'
        rows.append(Row(f'BR-NPA neck / ResNet-{args.depth} backbone, '
                        f'{name} {grid} maps, {images_text}{precision}',
                        times['neck'], times['backbone'], aim))
    return rows


def explanation_time(args, timer, device) -> List[Row]:
    model = classifier(args.depth, LOW_RES, 'brnpa', device)
    layers = saliency_context(model)
    image = torch.randn(1, 3, args.explain_size, args.explain_size,
                        device=device)
    target = torch.zeros(1, dtype=torch.long, device=device)

    def explain(method, **options):
        return lambda: compute_saliency(method, model, image, target, **layers,
                                        **options)

    brnpa = explain('attention')
    fast = timer.compare({'brnpa': brnpa, 'gradcam': explain('gradcam')})
    # Thousands of forward passes each, on the network the fast methods
    # have just warmed up: one timed run is enough.
    slow = timer.compare({
        'scorecam': explain('scorecam', batch_size=args.batch_size),
        'rise': explain('rise', num_masks=args.rise_masks,
                        batch_size=args.batch_size),
    }, repeats=1, warmup=False)
    label = f'ResNet-{args.depth}, {args.explain_size} px, one image'
    return [
        Row(f'Grad-CAM / BR-NPA explanation ({label})', fast['gradcam'],
            fast['brnpa'], '>= 2'),
        Row(f'Score-CAM / BR-NPA explanation ({label})', slow['scorecam'],
            fast['brnpa'], '>= 100'),
        Row(f'RISE ({args.rise_masks} masks) / BR-NPA explanation '
            f'({label})', slow['rise'], fast['brnpa'], ''),
    ]


def evaluation_throughput(args, timer, device) -> List[Row]:
    model = classifier(18, HIGH_RES, 'brnpa', device, num_classes=8,
                       base_channels=16)
    images = torch.randn(args.eval_images, 3, 96, 96, device=device)
    layers = saliency_context(model)
    saliency = compute_saliency('attention', model, images, None, **layers)
    _, steps = step_plan(saliency[0].numel(), 196)
    points = args.eval_images * (steps + 1) * 2
    batch = torch.randn(args.batch_size, 3, 96, 96, device=device)

    def plain():
        with torch.no_grad():
            for start in range(0, points, args.batch_size):
                model(batch[:min(args.batch_size, points - start)])

    times = timer.compare({
        'plain': plain,
        'curves': lambda: perturbation_curves(model, images, saliency,
                                              batch_size=args.batch_size),
    }, repeats=max(1, args.repeats // 2))
    # Throughputs: points per second over images per second is the time of
    # the plain passes over the time of the curves.
    return [Row(f'deletion + insertion points/s over plain forward images/s '
                f'({args.eval_images} images x {steps + 1} points x 2, demo '
                'ResNet-18 w16, 96 px)', times['plain'], times['curves'],
                '>= 0.8')]


def training_step(args, timer, device) -> List[Row]:
    from mmpretrain.structures import DataSample
    images = torch.randn(args.train_batch, 3, args.size, args.size,
                         device=device)
    samples = [DataSample().set_gt_label(i % 200).to(device)
               for i in range(args.train_batch)]
    steps = {}
    for neck in ('brnpa', 'gap'):
        model = classifier(args.depth, LOW_RES, neck, device).train()
        optimizer = torch.optim.SGD(model.parameters(), lr=1e-3,
                                    momentum=0.9)

        def step(model=model, optimizer=optimizer):
            optimizer.zero_grad()
            losses = model(images, samples, mode='loss')
            sum(losses.values()).backward()
            optimizer.step()

        steps[neck] = step
    times = timer.compare(steps)
    return [Row(f'training step, BR-NPA neck + head / GAP + linear head '
                f'(ResNet-{args.depth}, {args.train_batch} x {args.size} px)',
                times['brnpa'], times['gap'], '~1')]


SLOW_NOTE = ' (Score-CAM and RISE: one run, after the other methods)'
SECTIONS = {
    'neck': neck_overhead,
    'explanation': explanation_time,
    'evaluation': evaluation_throughput,
    'training': training_step,
}


def seconds(times: List[float]) -> str:
    """The median of ``times`` and, in brackets, their range."""
    return (f'{statistics.median(times):.4g} '
            f'({min(times):.4g}-{max(times):.4g})')


def table(rows: List[Row]) -> str:
    lines = ['| comparison | A (s), median (min-max) | '
             'B (s), median (min-max) | A / B of the medians | '
             'A / B per repeat, min-max | aim |',
             '|---|---|---|---|---|---|']
    for row in rows:
        low, high = row.ratio_spread()
        lines.append(f'| {row.name} | {seconds(row.a)} | {seconds(row.b)} | '
                     f'{row.ratio():.3g} | {low:.3g}-{high:.3g} | '
                     f'{row.aim} |')
    return '\n'.join(lines) + '\n'


def main(argv=None):
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.manual_seed(0)
    timer = Timer(device, args.repeats)
    rows = []
    for name in args.only:
        started = time.perf_counter()
        rows += SECTIONS[name](args, timer, device)
        print(f'{name}: {time.perf_counter() - started:.0f} s',
              file=sys.stderr, flush=True)
    text = (f'{machine(device)}\n\ncommand: python tools/benchmark.py '
            f'{" ".join(sys.argv[1:] if argv is None else argv)}\n\n'
            f'Wall times of {args.repeats} repeats after one warm-up call'
            f'{SLOW_NOTE if "explanation" in args.only else ""}.\n\n'
            f'{table(rows)}')
    print(text)
    if args.out:
        atomic_write_text(args.out, text)


if __name__ == '__main__':
    main()
