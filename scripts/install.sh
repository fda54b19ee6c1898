#!/usr/bin/env bash
# Install mer_toolbox (editable) with every optional part and the test tools.
#
#   bash scripts/install.sh            # runtime + media + gemini + tests
#   bash scripts/install.sh --minimal  # runtime only
#
# On a machine without an NVIDIA driver the CPU constraints file is added, so no
# dependency can swap the CPU build of torch for a multi-GB CUDA build. On a CUDA
# machine the torch you already installed is kept (torch is unpinned in setup.py).
set -euo pipefail
cd "$(dirname "$0")/.."

extras="[all,tests]"
if [[ "${1:-}" == "--minimal" ]]; then extras=""; fi

pip_args=(--disable-pip-version-check -q)
if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi >/dev/null 2>&1; then
    echo "[install] no CUDA device found: using requirements/constraints-cpu.txt"
    pip_args+=(-c requirements/constraints-cpu.txt)
fi
python -m pip install "${pip_args[@]}" -e ".${extras}"
python -c "import mer_toolbox, torch, mmengine; print('[install] mer_toolbox', mer_toolbox.__version__, '| torch', torch.__version__, '| mmengine', mmengine.__version__)"
