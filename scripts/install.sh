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

# Weights of the default 'mtcnn' face detector: read straight out of the
# facenet-pytorch wheel, which is downloaded, never installed (it would pin
# torch<2.3 and numpy<2). Without them face detection falls back to dlib / Haar.
if [[ -n "${extras}" ]]; then
    weights_dir="${MER_TOOLBOX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mer_toolbox}"
    python -m pip download "${pip_args[@]}" --no-deps --only-binary :all: \
        facenet-pytorch==2.6.0 -d "${weights_dir}" \
        || echo "[install] warning: could not download the MTCNN weights; the 'auto' face detector will use dlib or Haar"
fi
python -c "import mer_toolbox, torch, mmengine; print('[install] mer_toolbox', mer_toolbox.__version__, '| torch', torch.__version__, '| mmengine', mmengine.__version__)"
