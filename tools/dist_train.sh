#!/usr/bin/env bash
# Distributed training with torchrun (CPU-only machines use gloo automatically).
#   tools/dist_train.sh CONFIG NPROC [train.py args...]
# Several machines: set NNODES, NODE_RANK, MASTER_ADDR (and PORT) on each
# (tools/torchrun.sh maps them to torchrun's flags).
set -euo pipefail
CONFIG=$1
NPROC=$2
shift 2
HERE=$(dirname "$0")
exec "$HERE/torchrun.sh" "$NPROC" "$HERE/train.py" "$CONFIG" \
    --launcher pytorch "$@"
