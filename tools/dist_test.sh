#!/usr/bin/env bash
# Distributed testing with torchrun (CPU-only machines use gloo automatically).
#   tools/dist_test.sh CONFIG CHECKPOINT NPROC [test.py args...]
# Several machines: set NNODES, NODE_RANK, MASTER_ADDR (and PORT) on each
# (tools/torchrun.sh maps them to torchrun's flags).
set -euo pipefail
CONFIG=$1
CHECKPOINT=$2
NPROC=$3
shift 3
HERE=$(dirname "$0")
exec "$HERE/torchrun.sh" "$NPROC" "$HERE/test.py" "$CONFIG" "$CHECKPOINT" \
    --launcher pytorch "$@"
