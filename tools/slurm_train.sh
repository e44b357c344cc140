#!/usr/bin/env bash
# Train under Slurm: one task per GPU, on as many machines as GPUS needs.
#
#   GPUS=16 tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [train.py options]
#
# GPUS (default 8), GPUS_PER_NODE (8 at most), CPUS_PER_TASK (5) and
# SRUN_ARGS tune the allocation; PYTHON selects the interpreter (default:
# python); BRNPA_TOOL=test runs tools/test.py instead (tools/slurm_test.sh
# does that).
set -euo pipefail
if [ $# -lt 4 ]; then
    echo "usage: $0 PARTITION JOB_NAME CONFIG WORK_DIR [train.py options]" >&2
    exit 2
fi
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
WORK_DIR=$4
shift 4
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-$(( GPUS < 8 ? GPUS : 8 ))}
# shellcheck disable=SC2086  # SRUN_ARGS holds several options
srun --partition="$PARTITION" --job-name="$JOB_NAME" \
    --gres="gpu:$GPUS_PER_NODE" --ntasks="$GPUS" \
    --ntasks-per-node="$GPUS_PER_NODE" \
    --cpus-per-task="${CPUS_PER_TASK:-5}" --kill-on-bad-exit=1 \
    ${SRUN_ARGS:-} \
    "${PYTHON:-python}" -u "$(dirname "$0")/${BRNPA_TOOL:-train}.py" \
    "$CONFIG" "$@" --work-dir="$WORK_DIR" --launcher=slurm
