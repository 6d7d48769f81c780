#!/usr/bin/env bash
# One short GPU check of the pixel de-identification engine, for a CUDA machine with NO network.
#
# It installs nothing from the network.  The machine needs python3 (3.11 or later) and either:
#   * the project's Python packages already installed (torch with CUDA, numpy, pydicom,
#     pylibjpeg + pylibjpeg-openjpeg for the J2K test slice), or
#   * a folder of wheels brought along, given as WHEELS=/path/to/wheels: they are installed with
#     `pip install --no-index --find-links "$WHEELS"` (offline).  Make that folder on a machine with
#     network access, for the target's Python and CUDA, e.g.:
#       pip download -d wheels --python-version 3.11 --only-binary=:all: \
#           torch --index-url https://download.pytorch.org/whl/cu124
#       pip download -d wheels --python-version 3.11 --only-binary=:all: \
#           numpy pydicom pylibjpeg pylibjpeg-openjpeg platformdirs
#
# Then, from the repository root:   bash benchmarks/gpu_check.sh      (about 1-2 minutes)
# It checks `deidentify` on CUDA against the CPU (benchmarks/cuda_parity.py: p = 0 bit-exact,
# repeatable, mask fraction, differences to the CPU output), times `deidentify` on a 512x512 frame,
# then prints the engine's device, single-frame slider-update latency and batch throughput at
# 512x512 (targets: interactive <= 20 ms, batch >= 300 frames/s) and whole-export frames/s; it
# exits non-zero if the engine did not run on CUDA or a parity promise failed.  Run on an NVIDIA
# H100 (torch 2.11.0+cu130, Python 3.12) on 2026-11-27: figures in README.md, "Benchmarks".
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export PIP_NO_INDEX=1 PIP_DISABLE_PIP_VERSION_CHECK=1   # never reach for the network

if [[ -n "${WHEELS:-}" ]]; then
  python3 -m pip install -q --no-index --find-links "$WHEELS" torch numpy pydicom pylibjpeg pylibjpeg-openjpeg platformdirs
fi

command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
python3 - <<'PY'
import sys
try:
    import torch
except ImportError:
    sys.exit("torch is not installed: bring wheels (see the header of benchmarks/gpu_check.sh)")
print("torch", torch.__version__, "cuda available:", torch.cuda.is_available(), "cuda build:", torch.version.cuda)
if not torch.cuda.is_available():
    sys.exit("CUDA is not available to torch: a CPU-only torch wheel, or no driver")
PY

python3 benchmarks/cuda_parity.py
python3 benchmarks/deidentify_cpu.py --device cuda --runs 100

out="$(mktemp)"
MEDEID_DEVICE=cuda timeout 540 python3 benchmarks/pixel_bench.py --device cuda --moves 50 \
  --batch-frames 512 --files 32 --export-files 64 --json | tee "$out"
python3 - "$out" <<'PY'
import json, sys
r = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
ok = r["device"].startswith("cuda")
i, b = r["interactive_512"], r["batch_512_p0.5"]
print(f"device {r['device']} ({r['device_detail']}), weights: {r['weights'][:40]}")
print(f"interactive 512x512: median {i['slider_median_ms']} ms (target <= 20), first {i['first_request_ms']} ms")
print(f"batch 512x512 p=0.5: {b['frames_per_s']} frames/s (target >= 300); "
      f"clean_pixels CT: {r['clean_pixels_ct512_p0.5']['frames_per_s']} frames/s")
for k in ("export_ct512_p0.5_per_file", "export_ct512_p0.5_grouped"):
    if k in r:
        print(f"{k}: {r[k]['frames_per_s']} frames/s ({r[k]['exported']} files)")
sys.exit(0 if ok else 1)
PY
