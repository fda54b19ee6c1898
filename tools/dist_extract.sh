#!/usr/bin/env bash
# Sharded feature extraction with torchrun: each rank extracts its share of the
# clips on its own GPU (CPU-only machines work too), rank 0 merges the logs.
#   tools/dist_extract.sh CONFIG NPROC [extract_features.py args...]
# Several machines: set NNODES, NODE_RANK, MASTER_ADDR (and PORT) on each
# (tools/torchrun.sh maps them to torchrun's flags). Every machine must see
# the same output root (a shared file system).
set -euo pipefail
CONFIG=$1
NPROC=$2
shift 2
HERE=$(dirname "$0")
exec "$HERE/torchrun.sh" "$NPROC" "$HERE/extract_features.py" "$CONFIG" "$@"
