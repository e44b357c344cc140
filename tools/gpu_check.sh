#!/usr/bin/env bash
# What BR-NPA needs checked on a GPU, in one run of a few minutes, written
# to one Markdown file:
#
#   tools/gpu_check.sh [--dry-run] OUT.md
#
# 1. the BR-NPA neck over the ResNet-50 backbone at 448 px (float32, and
#    under float16 autocast), and the batched 2 x 224 px run;
# 2. Grad-CAM, Score-CAM and RISE (4000 masks) over BR-NPA's time to
#    explain one 448 px image;
# 3. one AMP training step per ecosystem, on tiny generated data:
#    mmpretrain (tools/train.py --amp), torchreid (tools/gpu_check.py
#    reid-amp-step) and few-shot (tools/train_fewshot.py --amp);
# 4. the BR-NPA maps on the GPU against the CPU (tools/gpu_check.py maps).
#
# --dry-run runs the same steps on the CPU at tiny sizes (a minute or two),
# to check the script itself where there is no GPU. PYTHON names the
# interpreter (default: python). Every step runs even when one fails; the
# exit status is 1 if any failed. The file is written when all have run.
set -u -o pipefail

usage() {
    echo "usage: $0 [--dry-run] OUT.md" >&2
    exit 2
}
DRY_RUN=0
OUT=''
for arg in "$@"; do
    case "$arg" in
        --dry-run) DRY_RUN=1 ;;
        -h|--help) usage ;;
        -*) echo "$0: unknown option $arg" >&2; usage ;;
        *) [ -z "$OUT" ] || usage; OUT="$arg" ;;
    esac
done
[ -n "$OUT" ] || usage

PYTHON=${PYTHON:-python}
REPO=$(cd "$(dirname "$0")/.." && pwd)
OUT=$(cd "$(dirname "$OUT")" && pwd)/$(basename "$OUT")
WORK=$(mktemp -d "${TMPDIR:-/tmp}/gpu_check.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cd "$REPO" || exit 2
export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"
# Score-CAM's progress bar (tqdm) stays quiet.
export TQDM_DISABLE=1

if [ "$DRY_RUN" = 1 ]; then
    # The CPU even where a GPU is visible.
    export CUDA_VISIBLE_DEVICES=''
    DEVICE=cpu
    MODE='dry run: the CPU, tiny sizes (these numbers say nothing about a GPU)'
    NECK=(--depth 18 --size 64 --grouping-size 32 --grouping-batch 2 --repeats 2)
    EXPLAIN=(--depth 18 --explain-size 64 --rise-masks 8 --batch-size 8 --repeats 2)
    MAPS=(--config configs/brnpa/brnpa_resnet18-w16_1xb32_synthetic-parts.py --size 96)
    # ResNet-18 with 16 base channels on 64 px crops, one batch of 12.
    MMPRETRAIN=(model.backbone.depth=18 model.backbone.stem_channels=16
        model.backbone.base_channels=16 model.neck.in_channels=128
        model.head.in_channels=128
        train_dataloader.dataset.pipeline.1.scale=72
        train_dataloader.dataset.pipeline.2.crop_size=64
        test_dataloader.dataset.pipeline.1.scale=72
        test_dataloader.dataset.pipeline.2.crop_size=64)
    REID=(--model brnpa_resnet18 --height 64 --width 32 --batch 8)
    FEWSHOT=('model.learner.widths=(8,16,32,64)' train_dataloader.dataset.image_size=32
        val_dataloader.dataset.image_size=32 test_dataloader.dataset.image_size=32)
else
    if ! "$PYTHON" -c 'import sys, torch; sys.exit(not torch.cuda.is_available())'; then
        echo "$0: torch sees no CUDA GPU here; tools/gpu_check.sh --dry-run $OUT runs the same steps on the CPU" >&2
        exit 2
    fi
    DEVICE=cuda
    MODE='GPU (cuda)'
    NECK=(--size 448 --repeats 10)
    EXPLAIN=(--explain-size 448 --rise-masks 4000 --batch-size 64 --repeats 5)
    MAPS=(--config configs/brnpa/brnpa-highres-kd_resnet50_8xb12_cub.py --size 448)
    MMPRETRAIN=()
    REID=(--model brnpa_resnet50 --height 256 --width 128 --batch 16)
    FEWSHOT=(train_dataloader.dataset.image_size=84 val_dataloader.dataset.image_size=84
        test_dataloader.dataset.image_size=84)
fi

FAILED=0
REPORT="$WORK/report.md"
: >"$REPORT"
write() { printf '%s\n' "$@" >>"$REPORT"; }

# step TITLE TABLE_FILE COMMAND...: run COMMAND (output in the work folder,
# at most 10 minutes), then add its section: the command, its result and
# time, TABLE_FILE (what the command wrote; '' for none) and, when it
# failed or wrote no table, the end of its output.
step() {
    local title=$1 table=$2
    shift 2
    local log="$WORK/step_$(date +%s%N).log" started status
    started=$(date +%s)
    echo "== $title" >&2
    timeout 600 "$@" >"$log" 2>&1
    status=$?
    local seconds=$(($(date +%s) - started))
    write "## $title" '' '```' "$(printf '%q ' "$@")" '```' ''
    if [ "$status" = 0 ]; then
        write "Result: ok ($seconds s)." ''
    else
        FAILED=1
        write "Result: FAILED (exit status $status after $seconds s)." ''
    fi
    if [ -s "$table" ]; then
        write "$(cat "$table")" ''
    fi
    if [ "$status" != 0 ] || { [ -n "$table" ] && [ ! -s "$table" ]; }; then
        write 'End of the output:' '' '```' "$(tail -n 30 "$log")" '```' ''
    fi
}

BEGIN=$(date +%s)

step 'Neck / backbone, float32' "$WORK/neck.md" \
    "$PYTHON" tools/benchmark.py --device "$DEVICE" --only neck "${NECK[@]}" \
    --out "$WORK/neck.md"
step 'Neck / backbone, under autocast' "$WORK/neck_amp.md" \
    "$PYTHON" tools/benchmark.py --device "$DEVICE" --only neck "${NECK[@]}" \
    --autocast --out "$WORK/neck_amp.md"
step 'Explanation time: Grad-CAM, Score-CAM and RISE over BR-NPA' \
    "$WORK/explain.md" \
    "$PYTHON" tools/benchmark.py --device "$DEVICE" --only explanation \
    "${EXPLAIN[@]}" --out "$WORK/explain.md"

# One AMP training step per ecosystem, on tiny generated data.
"$PYTHON" tools/make_synthetic_dataset.py "$WORK/cub" --num-classes 4 \
    --train-per-class 3 --test-per-class 1 --image-size 64 --part-size 12 \
    >"$WORK/data.log" 2>&1 &&
"$PYTHON" tools/make_tiny_reid_data.py --out "$WORK/reid" \
    >>"$WORK/data.log" 2>&1 &&
"$PYTHON" tools/make_tiny_fewshot_data.py "$WORK/fewshot" \
    >>"$WORK/data.log" 2>&1 || { FAILED=1; write '## Tiny data' '' \
    'FAILED:' '' '```' "$(tail -n 30 "$WORK/data.log")" '```' ''; }

# amp_line WORK_DIR: what the run's own log says about autocast.
amp_line() {
    local line
    line=$(grep -h -o 'AmpOptimWrapper: mixed precision.*' "$1"/*/*.log \
        2>/dev/null | head -n 1)
    write "Log: ${line:-no autocast line in $1/*/*.log}" ''
}
step 'AMP training step: mmpretrain (tools/train.py --amp)' '' \
    "$PYTHON" tools/train.py configs/brnpa/brnpa-lowres_resnet50_8xb12_cub.py \
    --amp --work-dir "$WORK/mmpretrain" --cfg-options \
    train_dataloader.dataset.data_root="$WORK/cub" \
    test_dataloader.dataset.data_root="$WORK/cub" \
    model.backbone.init_cfg=None model.head.num_classes=4 \
    data_preprocessor.num_classes=4 train_cfg.max_epochs=1 \
    train_dataloader.batch_size=12 train_dataloader.num_workers=0 \
    train_dataloader.persistent_workers=False test_dataloader.num_workers=0 \
    test_dataloader.persistent_workers=False custom_hooks.0.num_images=1 \
    default_hooks.logger.interval=1 "${MMPRETRAIN[@]}"
amp_line "$WORK/mmpretrain"
step 'AMP training step: torchreid' "$WORK/reid.md" \
    "$PYTHON" tools/gpu_check.py reid-amp-step --device "$DEVICE" \
    --root "$WORK/reid" --work-dir "$WORK/reid_log" "${REID[@]}" \
    --out "$WORK/reid.md"
FEWSHOT_DATA=(model.pretrained=None train_cfg.max_iters=1
    train_cfg.val_interval=1 default_hooks.checkpoint.interval=1
    default_hooks.logger.interval=1 custom_hooks.0.max_images=1)
for loader in train val test; do
    FEWSHOT_DATA+=("$loader"_dataloader.num_workers=0
        "$loader"_dataloader.persistent_workers=False
        "$loader"_dataloader.dataset.root="$WORK/fewshot/pickle"
        "$loader"_dataloader.dataset.shots=1 "$loader"_dataloader.dataset.queries=2
        "$loader"_dataloader.dataset.num_episodes=2)
done
step 'AMP training step: few-shot (tools/train_fewshot.py --amp)' '' \
    "$PYTHON" tools/train_fewshot.py \
    configs/fewshot/brnpa-protonet_resnet12_mini-imagenet_5way-1shot.py \
    --amp --work-dir "$WORK/fewshot_run" --cfg-options "${FEWSHOT_DATA[@]}" \
    "${FEWSHOT[@]}"
amp_line "$WORK/fewshot_run"

step 'BR-NPA maps: device against CPU' "$WORK/maps.md" \
    "$PYTHON" tools/gpu_check.py maps --device "$DEVICE" "${MAPS[@]}" \
    --out "$WORK/maps.md"

MACHINE=$("$PYTHON" -c "from brnpa_plugins.profiling import machine; print(machine('$DEVICE'))" 2>&1)
{
    printf '%s\n' '# GPU check (tools/gpu_check.sh)' '' "Mode: $MODE." \
        "Machine: $MACHINE." "Date: $(date -u '+%Y-%m-%d %H:%M UTC'); all steps: $(($(date +%s) - BEGIN)) s." \
        "Result: $([ "$FAILED" = 0 ] && echo 'every step ok' || echo 'FAILED steps below')." ''
    cat "$REPORT"
} >"$OUT.partial" && mv "$OUT.partial" "$OUT"
echo "written: $OUT" >&2
exit "$FAILED"
