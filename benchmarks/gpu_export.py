"""Benchmark: frames/s of ``medeid export --privacy`` at 512 x 512, on CUDA when present (else CPU).

Usage: ``python benchmarks/gpu_export.py [--frames 256] [--privacy 0.5] [--workers 1] [--method-frames 64]``

Why through the export and not the model alone: issue 17's target (>= 300 frames/s on one
H100-class GPU) counts everything a frame costs in an export — reading, the model, the numpy
work around it (patch-grid up-sampling, casts, the percentile window), encoding and the atomic
write — since that work, not the model, bounds the rate today. Inputs are real CT slices
(pydicom's CT_small) resampled to 512 x 512 with their own UIDs, one frame per file, so the
export's cross-file device batches (16 files per unit on an accelerator) are exercised. The
first file's run is left out (model load, CUDA context). Prints one JSON line.

Besides the export's frames/s it reports (issue 17 item 3): ``method_ms_per_frame``, the method
alone (``tensor_batch`` over batches of 16 such frames) on the numpy path and on the torch path
(``ml.batch_device``, the work around the networks on the device), and ``parity``: the torch path
on the device against the numpy path on the CPU on real frames (pydicom-data's RG1_UNCR, a demo
DX, the 512 x 512 CT): same masks, unblocked pixels identical, the largest blocked difference in
grey levels and as a fraction of the window, and whether two device runs gave the same bytes.
Off a GPU the torch path is forced on the CPU so both are timed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a source checkout
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # model_domains.any_image_models


def make_inputs(dst: Path, n: int) -> None:
    """``n`` 512 x 512 CT files from the real CT_small slice (nearest-neighbour x4), each its own instance."""
    import pydicom
    from pydicom.data import get_testdata_file

    src = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    big = np.kron(src.pixel_array, np.ones((4, 4), dtype=src.pixel_array.dtype))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i in range(n):
            ds = src.copy()
            ds.Rows, ds.Columns = big.shape
            ds.PixelData = np.roll(big, i, axis=1).tobytes()  # not n identical frames
            ds.SOPInstanceUID = f"1.2.826.0.1.3680043.8.498.7{i:06d}"
            ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
            p = dst / f"s{i // 100:03d}" / f"ct{i:05d}.dcm"
            p.parent.mkdir(parents=True, exist_ok=True)
            ds.save_as(p)


def _run(inp: Path, out: Path, tmp: Path, privacy: float, workers: int) -> tuple[float, int, int]:
    from medeid_gui.export.pipeline import ExportConfig, run_export

    cfg = ExportConfig(input=inp, output=out, key_file=tmp / "k.key", ledger=tmp / "l.sqlite", state_dir=tmp / "st",
                       burned_in="off", privacy=privacy, workers=workers)
    t0 = time.perf_counter()
    s = run_export(cfg)
    return time.perf_counter() - t0, s.exported, s.failed


def _ct512(n: int) -> list[np.ndarray]:
    """The benchmark's 512 x 512 CT frames (as :func:`make_inputs` writes them), in memory."""
    import pydicom
    from pydicom.data import get_testdata_file

    src = pydicom.dcmread(get_testdata_file("CT_small.dcm")).pixel_array
    big = np.kron(src, np.ones((4, 4), dtype=src.dtype))
    return [np.roll(big, i, axis=1) for i in range(n)]


def method_ms_per_frame(device: str, n: int, privacy: float) -> dict[str, float]:
    """ms per 512 x 512 frame of ``tensor_batch`` in batches of 16 on ``device``, numpy path
    (only on the CPU: it is the CPU path) and torch path; one warm batch left out."""
    from medeid_gui.ml.batch import tensor_batch
    from medeid_gui.ml.model import default_model

    model = default_model(device)
    frames = _ct512(max(16, n))
    out: dict[str, float] = {}
    for name, on_dev in (("numpy", False), ("torch", True)):
        if name == "numpy" and device != "cpu":
            continue
        tensor_batch(frames[:16], privacy, model=model, on_device=on_dev)
        _sync(device)
        t0 = time.perf_counter()
        for i in range(0, len(frames), 16):
            tensor_batch(frames[i:i + 16], privacy, model=model, on_device=on_dev)
        _sync(device)
        out[name] = round((time.perf_counter() - t0) * 1e3 / len(frames), 2)
    return out


def _sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def parity(device: str, privacy: float) -> dict[str, object]:
    """The torch path on ``device`` against the numpy path on the CPU, frame by frame (see above)."""
    import pydicom
    from pydicom.data import get_testdata_file

    from medeid_gui._resources import resource
    from medeid_gui.ml.batch import tensor_batch
    from medeid_gui.ml.model import default_model

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frames = {"RG1_UNCR": pydicom.dcmread(get_testdata_file("RG1_UNCR.dcm")).pixel_array,
                  "demo_DX": pydicom.dcmread(resource("demo", "dicom") / "MRN23000000" / "0.dcm").pixel_array,
                  "CT512": _ct512(1)[0]}
    names = list(frames)
    ref = tensor_batch([frames[k] for k in names], privacy, seed=1, model=default_model("cpu"), on_device=False)
    dev = tensor_batch([frames[k] for k in names], privacy, seed=1, model=default_model(device), on_device=True)
    again = tensor_batch([frames[k] for k in names], privacy, seed=1, model=default_model(device), on_device=True)
    res: dict[str, object] = {}
    for k, r, d, d2 in zip(names, ref, dev, again):
        a = frames[k]
        lo, hi = np.percentile(a.astype(np.float32), (0.5, 99.5))
        diff = np.abs(d.frame.astype(np.int64) - r.frame.astype(np.int64))
        res[k] = {"same_mask": bool(np.array_equal(d.mask, r.mask)),
                  "unblocked_identical": bool(np.array_equal(d.frame[~d.mask], a[~d.mask])),
                  "max_diff_grey": int(diff.max()), "max_diff_of_window": round(float(diff.max() / (hi - lo)), 6),
                  "same_bytes_twice": d.frame.tobytes() == d2.frame.tobytes()}
    return res


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=256)
    ap.add_argument("--privacy", type=float, default=0.5)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--method-frames", type=int, default=64)
    args = ap.parse_args()
    from medeid_gui.ml.batch_device import use_device_path
    from medeid_gui.ml.device import pick_device
    from medeid_gui.ml.model import default_model

    device = pick_device()
    from model_domains import any_image_models, changed_files

    models = Path(tempfile.mkdtemp(prefix="medeid-bench-models-"))
    # the shipped model's domain is chest radiographs: declare its copy for every image, so that
    # the method runs on these CT frames (as the pixel-plumbing tests do)
    os.environ["MEDEID_MODELS"] = str(any_image_models(models / "any-image"))
    extra = {"repair_path": "torch" if use_device_path(default_model(device)) else "numpy",
             "method_ms_per_frame": method_ms_per_frame(device, args.method_frames, args.privacy),
             "parity": parity(device, args.privacy)}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        make_inputs(tmp / "warm", 1)
        make_inputs(tmp / "in", args.frames)
        _run(tmp / "warm", tmp / "warm-out", tmp, args.privacy, 1)  # model load, device context
        dt, exported, failed = _run(tmp / "in", tmp / "out", tmp, args.privacy, args.workers)
        extra["method_ran_on_files"] = changed_files(tmp / "in", tmp / "out")
    print(json.dumps({"device": device, "frames": args.frames, "size": "512x512", "privacy": args.privacy,
                      "workers": args.workers, "exported": exported, "failed": failed,
                      "seconds": round(dt, 2), "frames_per_s": round(exported / dt, 1),
                      "threads": os.environ.get("OMP_NUM_THREADS", "default"), **extra}))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
