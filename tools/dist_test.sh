#!/usr/bin/env bash
# Usage: bash tools/dist_test.sh CONFIG CHECKPOINT GPUS [test.py options]
# Nodes, ports and environment as tools/dist_train.sh.
set -euo pipefail
CONFIG=$1
CHECKPOINT=$2
GPUS=$3
source "$(dirname "$0")/dist_launch.sh"
PYTHONPATH="$(dirname "$0")/..":${PYTHONPATH:-} \
"${PYTHON:-python}" -m torch.distributed.run "${LAUNCH_ARGS[@]}" --nproc_per_node="$GPUS" \
    "$(dirname "$0")/test.py" "$CONFIG" "$CHECKPOINT" --launcher pytorch "${@:4}"
