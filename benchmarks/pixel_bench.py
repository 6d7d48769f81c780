"""Pixel de-identification speed: interactive slider updates and batch export at --privacy 0.5.

Why these two numbers: the GUI must answer a slider move with a de-identified 512x512 frame fast
enough to feel live (target: median <= 300 ms on CPU, <= 20 ms on a CUDA GPU), and a batch export
must keep up with an archive (frames/s; GPU target >= 300 frames/s at 512x512).

* interactive: ``InferenceEngine.submit_latest`` with a frame key, as the GUI does; the first
  request analyses the frame (identity map + semantic code), later slider moves reuse it and only
  re-block and re-compensate.  Latency = submit -> callback.
* batch: ``InferenceEngine.run_batch`` on 512x512 frames (engine only), and ``clean_pixels`` on a
  real 512x512 CT file (decode + de-identify + write Pixel Data; no OCR) for the whole pixel step.

Weights: the shipped model when ``models/manifest.json`` exists, else the method's networks
untrained (same architecture and cost; the output says which).  Usage::

    python benchmarks/pixel_bench.py                 # CPU, torch threads = cores
    python benchmarks/pixel_bench.py --device cuda   # via benchmarks/gpu_check.sh
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _model(device: str):
    from medeid_gui.ml.model import default_model, new_model

    try:
        return default_model(device=device), "shipped weights"
    except Exception as exc:  # noqa: BLE001 - no weights yet: same networks, untrained
        import torch

        torch.manual_seed(0)
        return new_model().to(device).eval(), f"untrained networks ({type(exc).__name__}: {exc})"


def _frame_512() -> np.ndarray:
    """A real 512x512 CT slice in [0, 1] (pydicom's 693_J2KI.dcm), the GUI's working input."""
    import pydicom
    from pydicom.data import get_testdata_file

    ds = pydicom.dcmread(get_testdata_file("693_J2KI.dcm"))
    hu = ds.pixel_array.astype(np.float32) * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    return np.clip((hu + 1024.0) / 4095.0, 0.0, 1.0).astype(np.float32)


def interactive(engine, frame: np.ndarray, moves: int) -> dict[str, float]:
    from medeid_gui.ml.engine import FrameRequest

    lat: list[float] = []
    first = 0.0
    for k in range(moves + 1):
        p = 0.05 + 0.9 * ((k * 37) % 100) / 100.0
        done = threading.Event()
        t0 = time.perf_counter()
        engine.submit_latest(FrameRequest(frame, p, key=("bench", 0)), lambda r, done=done: done.set())
        if not done.wait(120):
            raise RuntimeError("no result within 120 s")
        dt = (time.perf_counter() - t0) * 1000.0
        if k == 0:
            first = dt
        else:
            lat.append(dt)
    return {"first_request_ms": round(first, 1), "slider_median_ms": round(statistics.median(lat), 1),
            "slider_p90_ms": round(float(np.percentile(lat, 90)), 1), "moves": moves}


def batch(engine, frame: np.ndarray, n: int) -> dict[str, float]:
    """Batched engine path vs ``deidentify`` called frame by frame on the same frames."""
    from medeid_gui.ml.deidentify import deidentify

    rng = np.random.default_rng(0)
    frames = [np.clip(frame + rng.normal(0, 0.01, frame.shape).astype(np.float32), 0, 1) for _ in range(n)]
    engine.run_batch(frames[:2], 0.5)  # warm-up
    t0 = time.perf_counter()
    engine.run_batch(frames, 0.5)
    dt = time.perf_counter() - t0
    model = engine._model
    t1 = time.perf_counter()
    for f in frames:
        deidentify(f, 0.5, model=model)
    dt1 = time.perf_counter() - t1
    return {"frames": n, "seconds": round(dt, 2), "frames_per_s": round(n / dt, 1),
            "frame_by_frame_per_s": round(n / dt1, 1)}


def clean_files(engine, n: int) -> dict[str, float]:
    import pydicom
    from pydicom.data import get_testdata_file

    from medeid_gui.pixels.clean import PixelRequest, clean_pixels

    path = get_testdata_file("693_J2KI.dcm")
    req = PixelRequest(privacy=0.5, burned_in="off")
    clean_pixels(pydicom.dcmread(path), req, engine=engine)  # warm-up
    t0 = time.perf_counter()
    for _ in range(n):
        clean_pixels(pydicom.dcmread(path), req, engine=engine)
    dt = time.perf_counter() - t0
    return {"files": n, "frames_per_s": round(n / dt, 1)}


def export_files(n: int, group: int) -> dict[str, float]:
    """The whole ``medeid export --privacy 0.5`` (1 worker) on ``n`` 512x512 CT files.

    ``group`` files per unit of work (``MEDEID_EXPORT_GROUP``): 1 is the per-file path the CPU
    uses, 16 the cross-file batches an accelerator uses.
    """
    import os
    import shutil
    import tempfile
    import warnings

    import pydicom
    from pydicom.data import get_testdata_file

    from medeid_gui.deid.keys import ProjectKey
    from medeid_gui.export.pipeline import ExportConfig, run_export

    work = Path(tempfile.mkdtemp(prefix="medeid-pixbench-"))
    try:
        src = pydicom.dcmread(get_testdata_file("693_J2KI.dcm"))
        (work / "in").mkdir()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for i in range(n):
                ds = src.copy()
                ds.SOPInstanceUID = f"1.2.826.0.1.3680043.8.498.77.{i}"
                ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
                ds.save_as(work / "in" / f"{i:04d}.dcm")
        key = ProjectKey.generate().export(work / "k.key")
        os.environ["MEDEID_EXPORT_GROUP"] = str(group)
        try:
            cfg = ExportConfig(input=work / "in", output=work / "out", key_file=key, ledger=work / "ledger.sqlite",
                               state_dir=work / "state", workers=1, burned_in="off", privacy=0.5)
            t0 = time.perf_counter()
            summary = run_export(cfg)
            dt = time.perf_counter() - t0
        finally:
            os.environ.pop("MEDEID_EXPORT_GROUP", None)
        return {"files": n, "group": group, "exported": summary.exported, "seconds": round(dt, 2),
                "frames_per_s": round(summary.exported / dt, 1)}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default=None, help="cpu, cuda, cuda:N, mps (default: MEDEID_DEVICE or auto)")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    ap.add_argument("--moves", type=int, default=20, help="slider moves to time")
    ap.add_argument("--batch-frames", type=int, default=32, help="frames for the batch measurement")
    ap.add_argument("--files", type=int, default=8, help="CT files through clean_pixels")
    ap.add_argument("--export-files", type=int, default=16, help="CT files through a whole export (0: skip)")
    ap.add_argument("--json", action="store_true", help="one JSON object instead of text")
    args = ap.parse_args()

    import torch

    from medeid_gui.ml.device import pick_device
    from medeid_gui.ml.engine import InferenceEngine

    if args.threads:
        torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    model, weights = _model(device)
    engine = InferenceEngine(device, model=model, batch_size=64 if device.startswith("cuda") else 8)
    frame = _frame_512()
    result = {
        "device": engine.device_name,
        "device_detail": torch.cuda.get_device_name(0)
        if device.startswith("cuda")
        else f"CPU, {torch.get_num_threads()} torch threads",
        "weights": weights,
        "torch": torch.__version__,
        "interactive_512": interactive(engine, frame, args.moves),
        "batch_512_p0.5": batch(engine, frame, args.batch_frames),
        "clean_pixels_ct512_p0.5": clean_files(engine, args.files),
    }
    if args.export_files:
        import medeid_gui.ml.engine as engine_mod

        engine_mod._default = engine  # the export's workers (in this process) use the same model
        result["export_ct512_p0.5_per_file"] = export_files(args.export_files, 1)
        result["export_ct512_p0.5_grouped"] = export_files(args.export_files, 16)
    engine.close()
    if args.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print(f"{k:26s} {v}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
