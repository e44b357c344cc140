#!/usr/bin/env bash
# Train on several GPUs (or CPU processes) of one or more machines.
#
#   tools/dist_train.sh CONFIG GPUS_PER_MACHINE [tools/train.py options]
#
# Several machines: run it on each with the same MASTER_ADDR (the first
# machine), PORT and NNODES, and NODE_RANK = 0 .. NNODES-1.
# PYTHON selects the interpreter (default: python); BRNPA_TOOL=test runs
# tools/test.py instead (tools/dist_test.sh does that).
set -euo pipefail
if [ $# -lt 2 ]; then
    echo "usage: $0 CONFIG GPUS_PER_MACHINE [train.py options]" >&2
    exit 2
fi
CONFIG=$1
GPUS=$2
shift 2
exec "${PYTHON:-python}" -m torch.distributed.run \
    --nnodes="${NNODES:-1}" \
    --node_rank="${NODE_RANK:-0}" \
    --master_addr="${MASTER_ADDR:-127.0.0.1}" \
    --master_port="${PORT:-29500}" \
    --nproc_per_node="$GPUS" \
    "$(dirname "$0")/${BRNPA_TOOL:-train}.py" "$CONFIG" "$@" \
    --launcher pytorch
