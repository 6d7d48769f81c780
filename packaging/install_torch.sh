#!/usr/bin/env bash
# Install torch without pulling a multi-GB CUDA build onto machines that have no GPU.
# - torch already importable: nothing to do.
# - an NVIDIA GPU (nvidia-smi works): the default PyPI build (CUDA).
# - otherwise: the CPU wheel; a local copy (pip's find-links on this kind of machine) is taken
#   first, else the CPU index named by TORCH_CPU_INDEX.
set -euo pipefail
PY=${PYTHON:-python3}
TORCH_VERSION=${TORCH_VERSION:-2.13.0}
if "$PY" -c "import torch" 2>/dev/null; then
  echo "torch $("$PY" -c 'import torch; print(torch.__version__)') already installed"
  exit 0
fi
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  exec "$PY" -m pip install "torch==${TORCH_VERSION}"
fi
# CPU: prefer a wheel already on disk (no download).
if "$PY" -m pip download --no-deps --no-index -d /tmp/medeid-torch "torch==${TORCH_VERSION}" >/dev/null 2>&1 \
   || "$PY" -m pip install --dry-run --no-deps "torch==${TORCH_VERSION}" 2>/dev/null | grep -q '+cpu'; then
  exec "$PY" -m pip install "torch==${TORCH_VERSION}"
fi
exec "$PY" -m pip install "torch==${TORCH_VERSION}" --index-url "${TORCH_CPU_INDEX:-https://download.pytorch.org/whl/cpu}" \
  --extra-index-url https://pypi.org/simple
