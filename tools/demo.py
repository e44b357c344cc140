"""The embedded demo: the ground-truth benchmark, end to end, on a CPU.

    python tools/demo.py [--out-dir outputs/demo] [--seeds 0 [1 2 ...]]
        [--variant two-tone-rim | white-rim] [--dataset FIELD=VALUE ...]
        [--config CONFIG --cnn-config CONFIG] [--cnn-methods gradcam rise]
        [--attention-model NAME CONFIG ...] [--epochs N] [--threads 2]
        [--methods attention ...] [--perturbation-images 32]
        [--expensive-images E] [--no-randomisation] [--check-readme]

Nothing is downloaded:
1. generates the benchmark (brnpa_plugins/data/synthetic.py: classes defined
   by which colour sits on which shape, marked decisive by its rim, among
   distractors of the same shapes and colours; by default the two-tone
   variant, where every object has a rim of the same two tones and only
   their order marks a decisive part) in the CUB-200-2011 layout, and
   checks that data-only probes (colour histogram, patch statistics,
   co-occurrence of looks) stay at chance on it;
2. for each training seed, trains BR-NPA (``--config``), the plain network
   with global average pooling (``--cnn-config``) that Grad-CAM and RISE
   (``--cnn-methods``) explain, and every ``--attention-model`` (another
   BR-NPA variant, scored as BR-NPA is), with ``tools/train.py``, and tests
   BR-NPA with ``tools/test.py --out`` (predictions carry the maps). The
   defaults are the ResNet-18 configs; the other backbone families have
   their own (docs/backbones.md);
3. runs ``tools/eval_saliency.py``: BR-NPA's top map, its class-weighted
   map, all its maps and its network's norm map, Grad-CAM and RISE on the
   CNN, and the controls (uniform random, centred Gaussian, colour
   saturation, the model-free detectors of both variants' cues, the
   untrained network's top map over 3 draws, the oracle on the maps' grid
   and at full resolution, anti-oracle), scored on
   decisive-part pointing and energy, part coverage, part-level
   faithfulness by intervention, weight randomisation (3 draws and
   cascading), and the authors' deletion/insertion metrics, with paired
   tests and exact intervals; and counts, per model, how often the
   prediction follows each kind of evidence when the scenes are re-rendered
   with it changed;
4. writes ``metrics.json``, the reports of every seed (``seed_<s>/``), a
   summary over seeds (``seeds.md``), the printed table (``compact.md``)
   and figures of the ranked maps with the decisive parts outlined
   (``maps/``); with ``--check-readme`` (``make demo``), says whether
   README.md's table holds this run's rows.

With ``--dataset shortcut=marker`` (``make demo-shortcut``) every image
carries a class-coded corner marker, the models learn it, and the report
adds whether each map reveals it (pointing and energy on the marker) and how
each model's prediction changes when the marker is removed or recoded.
"""
import argparse
import csv
import dataclasses
import json
import math
import os
import subprocess
import sys
from collections import defaultdict

import numpy as np
from PIL import Image

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = os.path.join('configs', 'brnpa')
DEFAULT_CONFIG = os.path.join(CONFIGS,
                              'brnpa_resnet18-w16_1xb32_synthetic-parts.py')
DEFAULT_CNN_CONFIG = os.path.join(
    CONFIGS, 'resnet18-w16-gap_1xb32_synthetic-parts.py')
#: Columns of the summary printed at the end (all are in the reports).
SHOWN = ('gt_pointing', 'gt_energy', 'gt_coverage', 'gt_faithfulness',
         'model_pointing', 'randomisation', 'dauc', 'iauc')
#: Columns of the planted-shortcut table (datasets with a marker).
SHORTCUT_SHOWN = ('shortcut_pointing', 'shortcut_energy', 'gt_pointing',
                  'gt_energy')


#: The dataset fields of each ``--variant``.
VARIANT_PRESETS = {
    'white-rim': {},
    'two-tone-rim': dict(variant='two-tone-rim', image_size=112,
                         part_size=12, distractors=6,
                         distractor_colours='complete'),
}


def _dataset_option(text):
    """``FIELD=VALUE`` of SyntheticPartsConfig, the value of the field's
    type."""
    from dataclasses import fields

    from brnpa_plugins.data import SyntheticPartsConfig
    name, _, value = text.partition('=')
    known = {f.name: type(f.default) for f in fields(SyntheticPartsConfig)}
    if not _ or name not in known:
        raise argparse.ArgumentTypeError(
            f'{text!r}: expected FIELD=VALUE with FIELD one of '
            f'{sorted(known)}')
    try:
        return name, known[name](value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f'{text!r}: {name} takes a {known[name].__name__}') from None


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Train BR-NPA on the generated ground-truth benchmark '
        'and score its explanations against controls.')
    parser.add_argument('--out-dir', default='outputs/demo')
    parser.add_argument('--data-root', default='data/synthetic_parts')
    parser.add_argument('--config', default=DEFAULT_CONFIG)
    parser.add_argument('--cnn-config', default=DEFAULT_CNN_CONFIG)
    parser.add_argument('--methods', nargs='+',
                        default=['attention', 'brnpa-class', 'attention-all',
                                 'norm'],
                        help="saliency methods applied to BR-NPA's model "
                        '(and every --attention-model); the first is the '
                        'reference row')
    parser.add_argument('--cnn-methods', nargs='+', default=['gradcam', 'rise'],
                        help='saliency methods applied to the plain network '
                        '(any registered method, e.g. rollout for a ViT)')
    parser.add_argument(
        '--attention-model', nargs=2, action='append', default=[],
        metavar=('NAME', 'CONFIG'),
        help='another BR-NPA config, trained per seed and scored next to '
        '--config (repeatable)')
    parser.add_argument('--reuse', action='store_true',
                        help='a seed whose report is already in --out-dir '
                        'is read, not trained again (runs of single seeds '
                        'in parallel, then one run of all to summarise)')
    parser.add_argument(
        '--variant', choices=sorted(VARIANT_PRESETS), default='two-tone-rim',
        help='the benchmark: two-tone-rim (default: every object rimmed in '
        'the same two tones, 112 px, every shape in every colour once per '
        'image: no model-free detector finds the decisive parts) or '
        'white-rim (decisive parts rimmed in white, 96 px, which a '
        'white-pixel detector finds without a model)')
    parser.add_argument('--dataset', type=_dataset_option, action='append',
                        default=[], metavar='FIELD=VALUE',
                        help='a field of SyntheticPartsConfig, after the '
                        "variant's (repeatable), e.g. shortcut=marker")
    parser.add_argument('--train-per-class', type=int, default=None,
                        help="override the dataset's training images per "
                        'class (default 120)')
    parser.add_argument('--test-per-class', type=int, default=None,
                        help="override the dataset's test images per class "
                        '(default 40)')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0],
                        help='training seeds (each trains both models)')
    parser.add_argument('--epochs', type=int, default=None,
                        help="override the configs' max_epochs")
    parser.add_argument('--perturbation-images', type=int, default=32,
                        help='test images scored by deletion/insertion and '
                        'RISE, evenly spaced (default 32; 0: all of them, '
                        'several times slower)')
    parser.add_argument('--expensive-images', type=int, default=None,
                        help='test images RISE runs on, evenly spaced '
                        '(default: the --perturbation-images ones)')
    parser.add_argument('--max-steps', type=int, default=24,
                        help='deletion/insertion steps per image')
    parser.add_argument('--rise-masks', type=int, default=300)
    parser.add_argument('--random-seeds', type=int, default=5,
                        help='seeds of the uniform-random control')
    parser.add_argument('--num-maps', type=int, default=6,
                        help='test images whose maps are drawn')
    parser.add_argument('--randomisation', default=True,
                        action=argparse.BooleanOptionalAction,
                        help='weight randomisation (3 draws, cascading) and '
                        "the untrained network's rows (default: on; "
                        '--no-randomisation for a run about a planted '
                        'shortcut, where they are not needed)')
    parser.add_argument('--check-readme', action='store_true',
                        help="say whether README.md's table holds this "
                        "run's rows (make demo: the README's numbers come "
                        'from this command)')
    parser.add_argument('--threads', type=int, default=2,
                        help='CPU threads of every step (default 2); with '
                        'the CPU kernels pinned, the numbers depend on it')
    args = parser.parse_args(argv)
    if args.threads < 1:
        parser.error(f'--threads must be >= 1, got {args.threads}')
    return args


#: The environment of every step (set by main: threads and CPU kernels).
STEP_ENV = {}


def run(*args):
    command = [sys.executable, *args]
    pins = ' '.join(f'{k}={v}' for k, v in STEP_ENV.items())
    print('+', pins, ' '.join(command), flush=True)
    subprocess.run(command, check=True, cwd=REPO,
                   env=dict(os.environ, **STEP_ENV))


def data_options(data_root):
    # The configs' CheckedCUB reads class_names.txt from its data_root.
    return [f'{loader}.dataset.data_root={data_root}'
            for loader in ('train_dataloader', 'test_dataloader')]


def train(config, work_dir, data_root, seed, epochs):
    options = data_options(data_root) + [f'randomness.seed={seed}']
    if epochs is not None:
        options += [f'train_cfg.max_epochs={epochs}',
                    f'param_scheduler.1.T_max={epochs}']
    run('tools/train.py', config, '--work-dir', work_dir, '--cfg-options',
        *options)
    return read_last_checkpoint(work_dir)


def read_last_checkpoint(work_dir):
    with open(os.path.join(work_dir, 'last_checkpoint')) as stream:
        return stream.read().strip()


def draw_maps(predictions, classes, data_root, out_dir, count):
    """One PNG per test image (one per class first), and an overview."""
    from brnpa_plugins.core import render_ranked_maps, save_png
    from brnpa_plugins.data.synthetic import load_objects
    objects = load_objects(data_root)
    images_root = os.path.join(data_root, 'images')
    chosen, seen = [], set()
    for prediction in predictions:
        label = int(prediction['gt_label'][0])
        if label not in seen:
            seen.add(label)
            chosen.append(prediction)
    chosen = (chosen + [p for p in predictions if p not in chosen])[:count]
    figures = []
    for index, prediction in enumerate(chosen):
        predicted = int(prediction['pred_label'][0])
        truth = int(prediction['gt_label'][0])
        mark = 'ok' if predicted == truth else f'true {classes[truth]}'
        boxes, decisive = objects[os.path.relpath(
            prediction['img_path'], images_root).replace(os.sep, '/')]
        outlines = [(*box, 'decisive' if flag else 'distractor')
                    for box, flag in zip(boxes.tolist(), decisive)]
        image = np.asarray(Image.open(prediction['img_path']).convert('RGB'))
        figure = render_ranked_maps(
            image, prediction['attention_maps'], prediction['feature_norm'],
            prediction['part_activity'], f'{classes[predicted]} ({mark})',
            outlines=outlines)
        save_png(figure, os.path.join(out_dir, 'maps', f'{index:02d}.png'))
        figures.append(np.asarray(figure))
    overview = Image.fromarray(np.concatenate(figures[:4], axis=0))
    save_png(overview, os.path.join(out_dir, 'maps', 'overview.png'))
    return len(figures)


def read_per_image(path):
    """method -> metric -> per-image values, from ``per_image.csv``."""
    scores = defaultdict(lambda: defaultdict(list))
    with open(path) as stream:
        for row in csv.DictReader(stream):
            scores[row['method']][row['metric']].append(float(row['value']))
    return {method: {metric: np.array(values)
                     for metric, values in metrics.items()}
            for method, metrics in scores.items()}


def evaluate(args, seed_dir, checkpoint, cnn_checkpoint, others):
    """Score every model of one seed; ``others``: (name, config,
    checkpoint) of the ``--attention-model`` models."""
    report_dir = os.path.join(seed_dir, 'benchmark')
    extra = [item for other in others
             for item in ('--attention-model', *other)]
    run('tools/eval_saliency.py', args.config, checkpoint,
        '--methods', *args.methods, *extra,
        '--cnn-config', args.cnn_config, '--cnn-checkpoint', cnn_checkpoint,
        '--cnn-name', 'GAP CNN', '--cnn-methods', *args.cnn_methods,
        '--max-steps', str(args.max_steps),
        '--method-option', f'rise.num_masks={args.rise_masks}',
        '--random-seeds', str(args.random_seeds),
        *(['--sanity', '--untrained-methods', args.methods[0]]
          if args.randomisation else ['--untrained-draws', '0']),
        *([] if args.perturbation_images == 0 else
          ['--perturbation-images', str(args.perturbation_images)]),
        *([] if args.expensive_images is None else
          ['--expensive-images', str(args.expensive_images)]),
        '--data-root', args.data_root, '--out-dir', report_dir)
    with open(os.path.join(report_dir, 'summary.json')) as stream:
        return report_dir, json.load(stream)


def train_and_evaluate(args, seed, seed_dir, data_root):
    """Train every model of one seed, test BR-NPA with its maps and score
    them all; returns BR-NPA's checkpoint and the report's summary."""
    checkpoint = train(args.config, os.path.join(seed_dir, 'brnpa'),
                       data_root, seed, args.epochs)
    cnn_checkpoint = train(args.cnn_config,
                           os.path.join(seed_dir, 'gap_cnn'), data_root,
                           seed, args.epochs)
    others = [(name, config,
               train(config, os.path.join(seed_dir, f'model_{index}'),
                     data_root, seed, args.epochs))
              for index, (name, config) in enumerate(args.attention_model)]
    run('tools/test.py', args.config, checkpoint, '--work-dir',
        os.path.join(seed_dir, 'brnpa'), '--out',
        os.path.join(seed_dir, 'predictions.pkl'),
        '--cfg-options', *data_options(data_root))
    return checkpoint, evaluate(args, seed_dir, checkpoint, cnn_checkpoint,
                                others)[1]


def compact_table(rows, higher, shown=SHOWN):
    """The README's view of a report: the ``shown`` metrics only."""
    from brnpa_plugins.evaluation.report import markdown_table
    from brnpa_plugins.evaluation.report import Summary
    kept = [Summary(**row) for row in rows if row['metric'] in shown]
    tests = sum(not math.isnan(row['p_value']) for row in rows)
    return markdown_table(kept, higher, tests)


def readme_differences(table: str, readme: str):
    """The methods whose row of ``table`` (the compact table a run printed)
    README.md does not hold verbatim."""
    lines = set(readme.splitlines())
    return [row.split(' | ')[0][2:] for row in table.splitlines()
            if row.startswith('| ') and not row.startswith(
                ('| method |', '| model |')) and row not in lines]


def main(argv=None):
    args = parse_args(argv)
    sys.path.insert(0, REPO)
    from mmengine import load

    from brnpa_plugins.core import atomic_write_json, atomic_write_text
    from brnpa_plugins.data import SyntheticPartsConfig, generate_part_dataset
    from brnpa_plugins.evaluation.report import (seeds_markdown_table,
                                                 summarize_seeds)
    from brnpa_plugins.evaluation.shortcuts import shortcut_probes
    from brnpa_plugins.evaluation.benchmark import (HIGHER, RATE_METRICS,
                                                    invalid_metrics)
    from brnpa_plugins.evaluation.interventions import rates_table
    from brnpa_plugins.profiling import pinned_cpu_env
    STEP_ENV.update(pinned_cpu_env(args.threads))

    out_dir = os.path.abspath(args.out_dir)
    data_root = args.data_root = os.path.abspath(args.data_root)
    os.makedirs(out_dir, exist_ok=True)
    fields = dict(VARIANT_PRESETS[args.variant], **dict(args.dataset))
    fields.update({name: getattr(args, name)
                   for name in ('train_per_class', 'test_per_class')
                   if getattr(args, name) is not None})
    try:
        dataset = SyntheticPartsConfig(**fields)
        dataset.validate()
    except ValueError as error:
        raise SystemExit(f'error: --dataset / --variant: {error}') from None
    generate_part_dataset(data_root, dataset)
    print(f'dataset: {data_root} ({dataset})', flush=True)
    probes = shortcut_probes(data_root)
    shortcut = probes['colour histogram']
    probe_text = ', '.join(f'{name} {score.accuracy:.3f}'
                           for name, score in probes.items()) + \
        f' (chance {shortcut.chance:.3f})'
    print('data-only probes, test accuracy: ' + probe_text, flush=True)

    per_seed, summaries, accuracies = {}, {}, {}
    for seed in args.seeds:
        seed_dir = os.path.join(out_dir, f'seed_{seed}')
        predictions_file = os.path.join(seed_dir, 'predictions.pkl')
        report_dir = os.path.join(seed_dir, 'benchmark')
        if args.reuse and os.path.isfile(os.path.join(report_dir,
                                                      'summary.json')):
            print(f'seed {seed}: reusing {report_dir}', flush=True)
            checkpoint = read_last_checkpoint(os.path.join(seed_dir,
                                                           'brnpa'))
            with open(os.path.join(report_dir, 'summary.json')) as stream:
                summary = json.load(stream)
        else:
            checkpoint, summary = train_and_evaluate(args, seed, seed_dir,
                                                     data_root)
        per_seed[seed] = read_per_image(os.path.join(report_dir,
                                                     'per_image.csv'))
        summaries[seed], accuracies[seed] = summary, summary['accuracy']
        if seed == args.seeds[0]:
            predictions = load(predictions_file)
            first = dict(checkpoint=checkpoint, report=report_dir)

    reference = summaries[args.seeds[0]]['reference']
    averaged = [label for label, method in
                summaries[args.seeds[0]]['methods'].items()
                if method['seeds'] > 1]
    seed_rows = summarize_seeds(per_seed, reference, RATE_METRICS,
                                higher_is_better=HIGHER, averaged=averaged)
    seeds_text = seeds_markdown_table(seed_rows, HIGHER, reference)
    atomic_write_text(os.path.join(out_dir, 'seeds.md'), seeds_text)
    with open(os.path.join(data_root, 'class_names.txt')) as stream:
        classes = stream.read().split()
    drawn = draw_maps(predictions, classes, data_root, out_dir,
                      args.num_maps)
    main_summary = summaries[args.seeds[0]]
    means = {}
    for row in main_summary['rows']:
        means.setdefault(row['method'], {})[row['metric']] = row['mean']
    metrics = {
        'test_images': main_summary['images'],
        'num_classes': len(classes),
        'accuracy': accuracies[args.seeds[0]][reference],
        'accuracy_per_seed': accuracies,
        'chance_accuracy': 1 / len(classes),
        'colour_histogram_accuracy': shortcut.accuracy,
        'colour_histogram_chance': shortcut.chance,
        'probes': {name: score.accuracy for name, score in probes.items()},
        'dataset': dataclasses.asdict(dataset),
        'benchmark_valid': all(c['passed'] for c in main_summary['validity']),
        'validity': main_summary['validity'],
        'invalid_metrics': invalid_metrics(main_summary['validity']),
        'interventions': main_summary.get('interventions', []),
        'threads': args.threads,
        'randomisation': args.randomisation,
        'means': means,
        'seeds': args.seeds,
        'checkpoint': first['checkpoint'],
        'report': first['report'],
        'config': args.config,
    }
    atomic_write_json(os.path.join(out_dir, 'metrics.json'), metrics)

    print(f'\naccuracy on {metrics["test_images"]} test images (chance '
          f'{metrics["chance_accuracy"]:.3f}): ' + ', '.join(
              f'{name} {value:.3f}' for name, value in
              accuracies[args.seeds[0]].items()))
    print('data-only probes: ' + probe_text)
    print('benchmark valid (the oracle beats every control): ' + (
        'yes' if metrics['benchmark_valid'] else
        'NO, not on ' + ', '.join(metrics['invalid_metrics'])))
    table = compact_table(main_summary['rows'], HIGHER)
    print('\n' + table)
    if dataset.shortcut != 'none':
        marker = ('\nplanted shortcut (a class-coded corner marker): does '
                  'each map reveal it (SHORTCUT_POINTING: the peak on the '
                  'marker, SHORTCUT_ENERGY: its share of the mass)?\n\n'
                  + compact_table(main_summary['rows'], HIGHER,
                                  SHORTCUT_SHOWN))
        print(marker)
        table += marker
    evidence = rates_table(main_summary['interventions'])
    print('evidence each model uses (the share of re-rendered test scenes '
          'on which the prediction follows it; see saliency.md):\n'
          + evidence)
    if len(args.seeds) > 1:
        print(f'\nover seeds {args.seeds}:\n' + seeds_text)
    atomic_write_text(os.path.join(out_dir, 'compact.md'),
                      table + '\n' + evidence)
    if args.check_readme:
        with open(os.path.join(REPO, 'README.md')) as stream:
            stale = readme_differences(table + evidence, stream.read())
        print("README.md's table: " + (
            "every row is this run's" if not stale else
            f"{len(stale)} rows differ from this run's ({', '.join(stale)}; "
            f'this run: {out_dir}/compact.md)'))
    print(f'reports: {out_dir}/seed_*/benchmark/saliency.md, '
          f'per_image.csv; {out_dir}/seeds.md; {out_dir}/metrics.json; '
          f'{drawn} map figures in {out_dir}/maps/')


if __name__ == '__main__':
    main()
