#!/usr/bin/env bash
# Usage: bash tools/dist_train.sh CONFIG GPUS [train.py options]
# One node: the rendezvous takes a free port, so jobs sharing a machine never
# collide (PORT=N asks for that port instead).
# Several nodes: run it on every node with the same NNODES, MASTER_ADDR (node 0's
# address, reachable from the others) and PORT, and NODE_RANK = 0 .. NNODES-1.
# Env: NNODES (1), NODE_RANK (0), MASTER_ADDR, PORT (29500 on several nodes), PYTHON.
set -euo pipefail
CONFIG=$1
GPUS=$2
source "$(dirname "$0")/dist_launch.sh"
PYTHONPATH="$(dirname "$0")/..":${PYTHONPATH:-} \
"${PYTHON:-python}" -m torch.distributed.run "${LAUNCH_ARGS[@]}" --nproc_per_node="$GPUS" \
    "$(dirname "$0")/train.py" "$CONFIG" --launcher pytorch "${@:3}"
