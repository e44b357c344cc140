#!/usr/bin/env bash
# Test a checkpoint under Slurm: one task per GPU.
#
#   GPUS=8 tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [test.py options]
#
# The environment variables of tools/slurm_train.sh apply; results go to
# WORK_DIR (default: work_dirs/<config name>).
set -euo pipefail
if [ $# -lt 4 ]; then
    echo "usage: $0 PARTITION JOB_NAME CONFIG CHECKPOINT [test.py options]" >&2
    exit 2
fi
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
CHECKPOINT=$4
shift 4
BRNPA_TOOL=test exec "$(dirname "$0")/slurm_train.sh" "$PARTITION" \
    "$JOB_NAME" "$CONFIG" "${WORK_DIR:-work_dirs/$(basename "$CONFIG" .py)}" \
    "$CHECKPOINT" "$@"
