#!/usr/bin/env bash
# torchrun with the machine settings read from the environment; the
# tools/dist_*.sh wrappers call it.
#   tools/torchrun.sh NPROC SCRIPT [script args...]
# Several machines: set NNODES, NODE_RANK, MASTER_ADDR (and PORT) on each; they
# map to torchrun's --nnodes / --node-rank / --master-addr / --master-port.
set -euo pipefail
NPROC=$1
shift
exec python -m torch.distributed.run \
    --nnodes="${NNODES:-1}" --node-rank="${NODE_RANK:-0}" \
    --master-addr="${MASTER_ADDR:-127.0.0.1}" \
    --nproc-per-node="$NPROC" --master-port="${PORT:-29500}" "$@"
