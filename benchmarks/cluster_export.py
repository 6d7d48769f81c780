"""Benchmark: the export through the local process pool and through Dask (``local:1``/``local:2``).

Usage: ``python benchmarks/cluster_export.py [--files 300] [--pixel-files 16] [--workers 2]``

Why: issue 17 asks what a Dask cluster costs and gains against the pool on the same machine,
header-only and with ``--privacy``, and whether units are large enough that the scheduler's
per-task overhead stays under 5 %. Files are real pydicom test files (CT_small, MR_small) given
their own UIDs. The Dask runs go to an already running LocalCluster through its ``tcp://``
address (steady state); the start of a LocalCluster (what ``--cluster local:N`` adds to a
command) is timed apart. Prints one JSON line. Numbers from a shared 2-core machine are noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a source checkout
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "export"))  # helpers.replicate
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # model_domains.any_image_models


def _export(inp: Path, out: Path, tmp: Path, privacy: float, **kw: object) -> tuple[float, int]:
    from medeid_gui.export.pipeline import ExportConfig, run_export

    cfg = ExportConfig(input=inp, output=out, key_file=tmp / "k.key", ledger=tmp / "ledger.sqlite",
                       state_dir=tmp / "state", burned_in="off", privacy=privacy, **kw)  # type: ignore[arg-type]
    t0 = time.perf_counter()
    s = run_export(cfg)
    dt = time.perf_counter() - t0
    assert s.failed == 0, s.failures[:3]
    return dt, s.exported


def _overhead(n_workers: int, work_per_unit_s: dict[str, float]) -> dict[str, object]:
    """Empty-task round trip per unit against the measured time of one unit's work."""
    from distributed import Client, LocalCluster

    from medeid_gui.export.cluster import overhead_per_unit

    t0 = time.perf_counter()
    cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None,
                           silence_logs=40)
    client = Client(cluster)
    start_s = time.perf_counter() - t0
    try:
        overhead_per_unit(client, 20)  # warm
        per_unit = overhead_per_unit(client, 300)
    finally:
        client.close()
        cluster.close()
    return {"local_cluster_start_s": round(start_s, 2), "overhead_per_unit_ms": round(per_unit * 1e3, 2),
            "overhead_pct": {k: round(100 * per_unit / v, 2) for k, v in work_per_unit_s.items() if v > 0}}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=300)
    ap.add_argument("--pixel-files", type=int, default=16)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    from distributed import Client, LocalCluster
    from helpers import replicate
    from model_domains import any_image_models, changed_files

    from medeid_gui.export.cluster import UNIT_FILES_HEADER, UNIT_FILES_PIXELS

    # the shipped model's domain is chest radiographs: a copy declared for every image, set before
    # any worker process starts, so that `--privacy` runs the method on these CT/MR files
    models = Path(tempfile.mkdtemp(prefix="medeid-bench-models-"))
    os.environ["MEDEID_MODELS"] = str(any_image_models(models / "any-image"))

    res: dict[str, object] = {"machine": platform.machine(), "cpus": os.cpu_count(), "files": args.files,
                              "pixel_files": args.pixel_files, "unit_files": [UNIT_FILES_HEADER, UNIT_FILES_PIXELS]}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        inputs = {0.0: tmp / "in-h", 0.5: tmp / "in-p"}
        replicate(inputs[0.0], args.files)
        replicate(inputs[0.5], args.pixel_files)
        rates: dict[str, float] = {}
        runs = [("pool", {"workers": args.workers})]
        for name, kw in runs:
            for p, inp in inputs.items():
                dt, n = _export(inp, tmp / f"{name}-{p}", tmp, p, **kw)
                rates[f"{name}{'_privacy' if p else '_header'}"] = n / dt
        for n_workers in (1, 2):
            cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None, silence_logs=40)
            client = Client(cluster)
            try:
                for p, inp in inputs.items():
                    dt, n = _export(inp, tmp / f"dask{n_workers}-{p}", tmp, p, cluster=cluster.scheduler_address)
                    rates[f"local{n_workers}{'_privacy' if p else '_header'}"] = n / dt
            finally:
                client.close()
                cluster.close()
        res["files_per_s"] = {k: round(v, 1) for k, v in rates.items()}
        res["method_ran_on_files"] = {name: changed_files(inputs[0.5], tmp / f"{name}-0.5")
                                      for name in ("pool", "dask1", "dask2")}
        # one unit of work on one worker: its files at the single-process rate of local:1
        per_file = {"header": 1 / rates["local1_header"], "privacy": 1 / rates["local1_privacy"]}
        res.update(_overhead(args.workers, {"header": per_file["header"] * UNIT_FILES_HEADER,
                                            "privacy": per_file["privacy"] * UNIT_FILES_PIXELS}))
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
