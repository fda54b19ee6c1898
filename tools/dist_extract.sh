#!/usr/bin/env bash
# Sharded feature extraction with torchrun: each rank extracts its share of the
# clips on its own GPU (CPU-only machines work too), rank 0 merges the logs.
#   tools/dist_extract.sh CONFIG NPROC [extract_features.py args...]
# Several machines: set NNODES, NODE_RANK, MASTER_ADDR (and PORT) on each; they
# map to torchrun's --nnodes / --node-rank / --master-addr / --master-port.
# Every machine must see the same output root (a shared file system).
set -euo pipefail
CONFIG=$1
NPROC=$2
shift 2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
exec python -m torch.distributed.run \
    --nnodes="$NNODES" --node-rank="$NODE_RANK" --master-addr="$MASTER_ADDR" \
    --nproc-per-node="$NPROC" --master-port="$PORT" \
    "$(dirname "$0")/extract_features.py" "$CONFIG" "$@"
