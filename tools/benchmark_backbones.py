"""Measure what the high-resolution form costs, for each backbone family.

For ResNet-50, ConvNeXt-T, DeiT-S/16 and Swin-T, the standard form is the
model of the family's stage-1 CUB config (``brnpa-lowres_*_8xb12_cub.py``)
and the high-resolution form the student of its stage-2 config
(``brnpa-highres-kd_*_8xb12_cub.py``: ``HighResolutionBackbone``, or the
strides (1, 2, 1, 1) for ResNet-50), both built from mmpretrain's registry
as those configs build them, with random weights (the configs' own
initialisation, no checkpoint: the cost does not depend on the weights).

One training step is the config's optimizer wrapper (SGD, momentum 0.9)
updating the model with the loss of one batch: forward, loss, backward and
SGD step. Both forms of a family are built in one fresh process and their
steps alternate (standard first on even repeats, high-res first on odd
ones), after warm-up steps, so that both see the same machine; the medians
are compared:

- time: the CPU time of the process during the step (``time.process_time``,
  all threads), or the wall time on a GPU;
- peak memory: on a CPU, the rise of the process's peak resident memory
  during the step (``VmHWM`` of ``/proc/self/status``, reset before the step
  through ``/proc/self/clear_refs`` after ``malloc_trim``); on a GPU, the
  rise of the peak memory torch allocates. The weights and the momentum
  buffers are resident before the step and are not counted: what is counted
  is what the step allocates (activations kept for the backward pass,
  gradients, temporaries).

The last feature map side is that of the backbone's last output.

    python tools/benchmark_backbones.py [--families resnet50 convnext-tiny
        deit-small swin-tiny] [--size 224] [--batch-size 2] [--warmup 2]
        [--steps 5] [--threads 1] [--device cpu|cuda] [--out FILE.md]
"""
import argparse
import concurrent.futures
import multiprocessing
import os
import statistics
import time
from typing import NamedTuple

from brnpa_plugins.core.checks import check_positive_options
from brnpa_plugins.profiling import (build_random_model, check_device,
                                     is_cuda, machine, peak_memory,
                                     start_peak_memory, synchronize)

CONFIG_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..',
                          'configs', 'brnpa')


class Family(NamedTuple):
    """A backbone family and its two CUB configs."""
    name: str
    standard: str
    high_resolution: str


FAMILIES = {
    'resnet50': Family('ResNet-50', 'brnpa-lowres_resnet50_8xb12_cub.py',
                       'brnpa-highres-kd_resnet50_8xb12_cub.py'),
    'convnext-tiny': Family('ConvNeXt-T',
                            'brnpa-lowres_convnext-tiny_8xb12_cub.py',
                            'brnpa-highres-kd_convnext-tiny_8xb12_cub.py'),
    'deit-small': Family('DeiT-S/16',
                         'brnpa-lowres_deit-small-p16_8xb12_cub.py',
                         'brnpa-highres-kd_deit-small-p16_8xb12_cub.py'),
    'swin-tiny': Family('Swin-T', 'brnpa-lowres_swin-tiny_8xb12_cub.py',
                        'brnpa-highres-kd_swin-tiny_8xb12_cub.py'),
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--families', nargs='+', default=list(FAMILIES),
                        choices=list(FAMILIES), help='which families')
    parser.add_argument('--device', default='cpu',
                        help='cpu, cuda or cuda:N')
    parser.add_argument('--size', type=int, default=224, help='input side')
    parser.add_argument('--batch-size', type=int, default=2)
    parser.add_argument('--warmup', type=int, default=2,
                        help='untimed steps of each form first')
    parser.add_argument('--steps', type=int, default=5,
                        help='timed steps of each form (the median is kept)')
    parser.add_argument('--threads', type=int,
                        help="CPU threads (default: torch's choice); 1 gives "
                        'the steadiest CPU times on a shared machine')
    parser.add_argument('--out', help='also write the table (Markdown) here')
    args = parser.parse_args(argv)
    check_device(parser, args.device)
    check_positive_options(parser, args,
                           ('size', 'batch_size', 'steps', 'threads'))
    if args.warmup < 0:
        parser.error('--warmup must be >= 0')
    return args


def build(config: str):
    """The model and optimizer wrapper of ``config``, random weights.

    A distillation config gives its plain student (no teacher).
    """
    from mmengine.optim import build_optim_wrapper
    model, cfg = build_random_model(os.path.join(CONFIG_DIR, config))
    return model, build_optim_wrapper(model, cfg.optim_wrapper)


def measure_family(key: str, args) -> dict:
    """Both forms of one family, their steps alternating."""
    import torch

    from mmpretrain.structures import DataSample
    torch.manual_seed(0)
    if args.threads:
        torch.set_num_threads(args.threads)
    family = FAMILIES[key]
    forms = [build(family.standard), build(family.high_resolution)]
    inputs = torch.randn(args.batch_size, 3, args.size, args.size,
                         device=args.device)
    sides = []
    for model, _ in forms:
        model.to(args.device).train()
        with torch.no_grad():
            sides.append(
                model.extract_feat(inputs[:1], stage='backbone')[-1].shape[-1])
    num_classes = forms[0][0].head.num_classes
    samples = [
        DataSample().set_gt_label(i % num_classes).to(args.device)
        for i in range(args.batch_size)
    ]
    clock = time.perf_counter if is_cuda(args.device) else time.process_time

    def step(model, optim_wrapper):
        losses = model.loss(inputs, samples)
        optim_wrapper.update_params(sum(losses.values()))

    for _ in range(args.warmup):
        for form in forms:
            step(*form)
    times = ([], [])
    peaks = ([], [])
    for repeat in range(args.steps):
        order = (0, 1) if repeat % 2 == 0 else (1, 0)
        for index in order:
            start_bytes = start_peak_memory(args.device)  # synchronizes
            begin = clock()
            step(*forms[index])
            synchronize(args.device)
            times[index].append(clock() - begin)
            peaks[index].append(
                (peak_memory(args.device) - start_bytes) / 2**20)
    rows = {}
    for index, form in enumerate(('standard', 'high_resolution')):
        rows[form] = dict(
            side=sides[index],
            seconds=statistics.median(times[index]),
            peak_mib=statistics.median(peaks[index]))
    return dict(family=family.name, **rows)


def table(results, args) -> str:
    clock = ('wall time' if is_cuda(args.device) else
             'CPU time of the process')
    memory = ('peak allocated by torch' if is_cuda(args.device) else
              'rise of the peak resident memory')
    lines = [
        f'Input {args.size} px, batch {args.batch_size}, device '
        f'{args.device}; one training step = forward + loss + backward + SGD '
        f'step; median of {args.steps} steps of each form after '
        f'{args.warmup} warm-up steps; time is the {clock}, memory the '
        f'{memory} during the step.', '',
        '| Backbone | Last map side, standard | Last map side, high-res | '
        'Step time, high-res / standard | Peak step memory, high-res / '
        'standard | Step time standard / high-res (s) | '
        'Peak step memory standard / high-res (MiB) |',
        '|---|---|---|---|---|---|---|'
    ]
    for result in results:
        low, high = result['standard'], result['high_resolution']
        time_ratio = high['seconds'] / low['seconds']
        memory_ratio = (high['peak_mib'] / low['peak_mib']
                        if low['peak_mib'] > 0 else float('nan'))
        lines.append(
            f"| {result['family']} | {low['side']} | {high['side']} | "
            f'{time_ratio:.2f} | {memory_ratio:.2f} | '
            f"{low['seconds']:.3f} / {high['seconds']:.3f} | "
            f"{low['peak_mib']:.0f} / {high['peak_mib']:.0f} |")
    return '\n'.join(lines)


def main(argv=None) -> list:
    args = parse_args(argv)
    context = multiprocessing.get_context('spawn')
    results = []
    begin = time.perf_counter()
    for key in args.families:
        # A fresh process per family: one family's allocations never stay
        # resident under another's measurement.
        with concurrent.futures.ProcessPoolExecutor(
                max_workers=1, mp_context=context) as pool:
            results.append(pool.submit(measure_family, key, args).result())
        print(f'{FAMILIES[key].name}: done '
              f'({time.perf_counter() - begin:.0f} s)', flush=True)
    host = machine(args.device, args.threads)
    text = f'Machine: {host}\n\n{table(results, args)}\n'
    print(text, end='')
    if args.out:
        from brnpa_plugins.core import atomic_write_text
        atomic_write_text(args.out, text)
    return results


if __name__ == '__main__':
    main()
