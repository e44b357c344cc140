"""Measure what BR-NPA's high resolution costs in training.

For each model of the recipe, built from the real configs at the same input
size (448 px by default, random weights: the cost does not depend on them),
the multiply-accumulates of the forward pass are counted, one training step
(forward, loss, backward) is timed (wall time on a GPU, the process's CPU
time on a CPU) and its peak memory measured; all are also reported as ratios
to the plain ResNet-50:

- ResNet-50 + global average pooling (the baseline),
- BR-NPA low resolution (the teacher, strides (1, 2, 2, 2)),
- BR-NPA high resolution (the student architecture, strides (1, 2, 1, 1)),
- the high-resolution distillation step (student + frozen teacher),
- the same with gradient checkpointing of layer3 and layer4.

Each model runs in a fresh process, so one model's allocations never hide
another's peak. Peak memory is the peak allocated by PyTorch on a GPU, and
the rise of the process's peak resident memory (VmHWM) on a CPU (Linux).

    python tools/benchmark_highres.py [--device cuda] [--batch-size 2]
        [--size 448] [--iters 3] [--threads N] [--out results.json]
"""
import argparse
import concurrent.futures
import multiprocessing
import os
import tempfile
import time
from typing import NamedTuple

from brnpa_plugins.core.checks import check_positive_options
from brnpa_plugins.profiling import (build_random_model, check_device,
                                     is_cuda, machine, peak_memory,
                                     start_peak_memory, synchronize)

CONFIG_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..',
                          'configs', 'brnpa')


class Case(NamedTuple):
    """One row of the table."""
    name: str
    config: str  # {} is the dataset
    distill: bool  # train the student through the teacher (KD configs)
    checkpointing: bool  # gradient checkpointing of HIGH_RESOLUTION_STAGES


HIGHRES = 'brnpa-highres-kd_resnet50_8xb12_{}.py'
CASES = (
    Case('ResNet-50 + GAP', 'resnet50-gap_8xb12_{}.py', False, False),
    Case('BR-NPA low-res (teacher)', 'brnpa-lowres_resnet50_8xb12_{}.py',
         False, False),
    Case('BR-NPA high-res (student alone)', HIGHRES, False, False),
    Case('BR-NPA high-res + KD step (student + teacher)', HIGHRES, True,
         False),
    Case('BR-NPA high-res + KD step, checkpointed layer3/4', HIGHRES, True,
         True),
)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--device', default='cpu',
                        help='cpu, cuda or cuda:N')
    parser.add_argument('--dataset', default='cub',
                        choices=('cub', 'cars', 'aircraft'),
                        help='which configs (sets the number of classes)')
    parser.add_argument('--size', type=int, default=448, help='input side')
    parser.add_argument('--batch-size', type=int, default=2)
    parser.add_argument('--iters', type=int, default=3,
                        help='timed steps, after one warm-up step')
    parser.add_argument('--threads', type=int,
                        help='CPU threads (default: torch\'s choice); 1 '
                        'gives the steadiest CPU times on a shared machine')
    parser.add_argument('--out', help='also write the results as JSON here')
    args = parser.parse_args(argv)
    check_device(parser, args.device)
    check_positive_options(parser, args,
                           ('size', 'batch_size', 'iters', 'threads'))
    return args


def _build(config: str, teacher: str, checkpointing: bool):
    """The model of ``config`` with random weights; a distillation config
    gets the ``teacher`` checkpoint, or becomes its plain student when
    ``teacher`` is None."""
    from brnpa_plugins.core.highres import HIGH_RESOLUTION_STAGES
    from brnpa_plugins.openmmlab.hooks import enable_gradient_checkpointing
    model, _ = build_random_model(os.path.join(CONFIG_DIR, config), teacher)
    if checkpointing:
        enable_gradient_checkpointing(model.backbone, HIGH_RESOLUTION_STAGES)
    return model


def _random_teacher(dataset: str, path: str) -> str:
    """Save randomly initialised low-res teacher weights to ``path``."""
    import torch
    teacher, _ = build_random_model(
        os.path.join(CONFIG_DIR, CASES[1].config.format(dataset)))
    torch.save({'state_dict': teacher.state_dict()}, path)
    return path


def forward_gmacs(model, modules, inputs, samples) -> float:
    """Multiply-accumulates per image of the convolutions and linear layers
    in ``modules`` during the forward pass of a step, in 1e9."""
    import torch
    from torch import nn
    total = 0

    def count(module, args, output):
        nonlocal total
        total += output.numel() * module.weight[0].numel()

    handles = [
        m.register_forward_hook(count) for m in modules
        if isinstance(m, (nn.Conv2d, nn.Linear))
    ]
    with torch.no_grad():
        model.loss(inputs, samples)
    for handle in handles:
        handle.remove()
    return total / 1e9 / len(inputs)


def measure(case: Case, args, teacher: str) -> dict:
    """One row: build the case's model and time its training steps."""
    import torch

    from mmpretrain.structures import DataSample
    torch.manual_seed(0)
    if args.threads:
        torch.set_num_threads(args.threads)
    model = _build(case.config.format(args.dataset),
                   teacher if case.distill else None, case.checkpointing)
    model.to(args.device).train()
    if case.distill:
        model.load_teacher()  # outside the measured steps
    num_classes = model.head.num_classes
    inputs = torch.randn(args.batch_size, 3, args.size, args.size,
                         device=args.device)
    samples = [
        DataSample().set_gt_label(i % num_classes).to(args.device)
        for i in range(args.batch_size)
    ]
    # On a CPU the process's CPU time (all threads) is counted: unlike wall
    # time it does not grow when other programs share the cores.
    clock = time.perf_counter if is_cuda(args.device) else time.process_time
    start_bytes = start_peak_memory(args.device)
    times = []
    for step in range(args.iters + 1):
        synchronize(args.device)
        begin = clock()
        losses = model.loss(inputs, samples)
        sum(losses.values()).backward()
        model.zero_grad(set_to_none=True)
        synchronize(args.device)
        if step > 0:  # the first step warms up caches and kernels
            times.append(clock() - begin)
    peak_mib = (peak_memory(args.device) - start_bytes) / 2**20
    with torch.no_grad():
        feature = model.extract_feat(inputs[:1], stage='backbone')[-1]
    modules = list(model.modules())
    if case.distill:
        modules += list(model.load_teacher().modules())
    return dict(
        model=case.name,
        feature_map='x'.join(map(str, feature.shape[-2:])),
        gmacs=forward_gmacs(model, modules, inputs[:1], samples[:1]),
        seconds_per_image=sum(times) / len(times) / args.batch_size,
        peak_mib=peak_mib)


def table(rows, args) -> str:
    base = rows[0]
    lines = [
        f'Input {args.size} px, batch {args.batch_size}, device '
        f'{args.device}; forward + loss + backward, mean of {args.iters} '
        'steps after one warm-up; time is '
        + ('wall time' if is_cuda(args.device) else
           'CPU time of the process (all threads)') + '.', '',
        '| Model | Feature map | Forward GMACs / image | x ResNet-50 | '
        'Time / image (s) | x ResNet-50 | Peak memory (MiB) | x ResNet-50 |',
        '|---|---|---|---|---|---|---|---|'
    ]
    for row in rows:
        lines.append(
            f"| {row['model']} | {row['feature_map']} | {row['gmacs']:.1f} | "
            f"{row['gmacs'] / base['gmacs']:.2f} | "
            f"{row['seconds_per_image']:.3f} | "
            f"{row['seconds_per_image'] / base['seconds_per_image']:.2f} | "
            f"{row['peak_mib']:.0f} | "
            f"{row['peak_mib'] / base['peak_mib']:.2f} |")
    return '\n'.join(lines)


def main(argv=None) -> list:
    args = parse_args(argv)
    context = multiprocessing.get_context('spawn')
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        teacher = _random_teacher(args.dataset,
                                  os.path.join(workdir, 'teacher.pth'))
        for case in CASES:
            with concurrent.futures.ProcessPoolExecutor(
                    max_workers=1, mp_context=context) as pool:
                rows.append(pool.submit(measure, case, args, teacher).result())
            print(f"{rows[-1]['model']}: done", flush=True)
    host = machine(args.device, args.threads)
    print(f'Machine: {host}')
    print(table(rows, args))
    if args.out:
        from brnpa_plugins.core import atomic_write_json
        atomic_write_json(args.out, dict(machine=host, args=vars(args),
                                         rows=rows))
    return rows


if __name__ == '__main__':
    main()
