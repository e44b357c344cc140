#!/usr/bin/env bash
# Test a checkpoint on several GPUs (or CPU processes) of one or more machines.
#
#   tools/dist_test.sh CONFIG CHECKPOINT GPUS_PER_MACHINE [tools/test.py options]
#
# The environment variables of tools/dist_train.sh apply.
set -euo pipefail
if [ $# -lt 3 ]; then
    echo "usage: $0 CONFIG CHECKPOINT GPUS_PER_MACHINE [test.py options]" >&2
    exit 2
fi
CONFIG=$1
CHECKPOINT=$2
GPUS=$3
shift 3
BRNPA_TOOL=test exec "$(dirname "$0")/dist_train.sh" "$CONFIG" "$GPUS" \
    "$CHECKPOINT" "$@"
