# Sourced by dist_train.sh / dist_test.sh: the rendezvous arguments of torchrun
# (LAUNCH_ARGS) from NNODES, NODE_RANK, MASTER_ADDR and PORT.
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
if [[ "$NNODES" -gt 1 ]]; then
    if [[ -z "${MASTER_ADDR:-}" ]]; then
        echo "error: NNODES=$NNODES needs MASTER_ADDR, the address of the node with NODE_RANK=0" >&2
        exit 2
    fi
    if [[ "$NODE_RANK" -lt 0 || "$NODE_RANK" -ge "$NNODES" ]]; then
        echo "error: NODE_RANK=$NODE_RANK must be in 0..$((NNODES - 1))" >&2
        exit 2
    fi
    LAUNCH_ARGS=(--nnodes="$NNODES" --node_rank="$NODE_RANK" --master_addr="$MASTER_ADDR"
                 --master_port="${PORT:-29500}")
elif [[ -n "${PORT:-}" ]]; then
    LAUNCH_ARGS=(--nnodes=1 --node_rank=0 --master_addr="${MASTER_ADDR:-127.0.0.1}"
                 --master_port="$PORT")
else
    LAUNCH_ARGS=(--standalone)  # one node, a free port chosen by torchrun
fi
