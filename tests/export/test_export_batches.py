"""Cross-file method batches (the GPU export path), exercised on the CPU with real files and model."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pydicom
import pytest
from helpers import copy_inputs

from medeid_gui.export import worker
from medeid_gui.export.pipeline import ExportConfig, run_export
from medeid_gui.export.worker import Task, WorkerSetup, init_worker, process, process_group, unit_plan
from medeid_gui.pixels.clean import PixelRequest

NAMES = ("CT_small.dcm", "MR_small.dcm", "US1_UNCR.dcm", "SC_rgb.dcm", "rtdose.dcm", "emri_small.dcm",
         "JPEG2000.dcm")


@pytest.fixture(autouse=True)
def _any_image_model(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """The plumbing runs on files outside the shipped model's domain (chest radiographs): a copy
    of the shipped model declared for every image is installed as the shipped model."""
    from model_domains import any_image_models, fresh_engines

    monkeypatch.setenv("MEDEID_MODELS", str(any_image_models(tmp_path_factory.getbasetemp() / "any-image-models")))
    fresh_engines(monkeypatch)


def _export(inp: Path, out: Path, env: dict[str, Path], group: str | None, monkeypatch: pytest.MonkeyPatch):
    if group is None:
        monkeypatch.delenv("MEDEID_EXPORT_GROUP", raising=False)
    else:
        monkeypatch.setenv("MEDEID_EXPORT_GROUP", group)
    state = env["state"] / (group or "none")
    cfg = ExportConfig(input=inp, output=out, key_file=env["key"], ledger=env["ledger"], state_dir=state,
                       workers=1, burned_in="off", privacy=0.5)
    return run_export(cfg)


def _pixels(path: Path) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(path).pixel_array.astype(np.int64)


def test_grouped_export_equals_per_file_export_up_to_rounding(
    tmp_path: Path, env: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    inp = tmp_path / "in"
    copy_inputs(inp, NAMES)
    one = _export(inp, tmp_path / "one", env, None, monkeypatch)  # CPU: per-file batches
    grouped = _export(inp, tmp_path / "grouped", env, "4", monkeypatch)
    assert one.failed == grouped.failed == 0
    assert one.exported == grouped.exported == len(NAMES)
    a = sorted(p.relative_to(tmp_path / "one") for p in (tmp_path / "one").rglob("*.dcm"))
    b = sorted(p.relative_to(tmp_path / "grouped") for p in (tmp_path / "grouped").rglob("*.dcm"))
    assert a == b  # same pseudonymous names, same files
    changed = 0
    for rel in a:
        x, y = _pixels(tmp_path / "one" / rel), _pixels(tmp_path / "grouped" / rel)
        assert x.shape == y.shape
        # batched forward passes differ from single ones only in float rounding: at most one
        # stored unit, in a small fraction of the pixels
        diff = np.abs(x - y)
        assert diff.max() <= 1, rel
        assert (diff > 0).mean() < 0.01, rel
        hx = pydicom.dcmread(tmp_path / "one" / rel, stop_before_pixels=True)
        hy = pydicom.dcmread(tmp_path / "grouped" / rel, stop_before_pixels=True)
        assert hx == hy  # headers identical, 113102 claimed alike
        changed += "113102" in str(hx.get("DeidentificationMethodCodeSequence", ""))
    assert changed >= 5  # every image (not the RTDOSE) got identity blocking


def test_a_failing_batch_fails_only_the_file_at_fault(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch that raises is retried file by file: only the file whose frames fail is failed."""
    inp = tmp_path / "in"
    files = copy_inputs(inp, ("CT_small.dcm", "MR_small.dcm", "US1_UNCR.dcm"))
    from medeid_gui.deid.engine import DeidConfig
    from medeid_gui.deid.keys import ProjectKey

    key = ProjectKey.generate().export(tmp_path / "k.key")
    setup = WorkerSetup(DeidConfig(), str(key), str(tmp_path / "out"), "dicom",
                        PixelRequest(privacy=0.5, burned_in="off"), {}, 3, True)
    init_worker(setup)
    real = worker._engine()
    bad_shape = _pixels(files[1]).shape  # MR_small: 64 x 64

    calls: list[int] = []

    class Faulty:
        """The real engine, except that it refuses any batch holding the MR's frame."""

        def run_batch(self, frames, p, *, seed=0):
            calls.append(len(frames))
            if any(f.shape == bad_shape for f in frames):
                raise RuntimeError("device error on this frame")
            return real.run_batch(frames, p, seed=seed)

    monkeypatch.setitem(worker._STATE, "engine", Faulty())
    results = {Path(r.path).name: r for r in process_group([Task(str(f), f.stat().st_size) for f in files])}
    assert calls[0] == 3  # the three files' frames went in one batch, then one by one
    assert calls[1:] == [1, 1, 1]
    assert results["CT_small.dcm"].status == "exported"
    assert results["US1_UNCR.dcm"].status == "exported"
    assert results["MR_small.dcm"].status == "failed"
    assert "identity blocking at p=0.5 failed" in results["MR_small.dcm"].reason
    # and the single-file path words it the same way
    alone = process(Task(str(files[1]), files[1].stat().st_size))
    assert alone.status == "failed" and alone.reason == results["MR_small.dcm"].reason


def test_unit_plan_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MEDEID_EXPORT_GROUP", raising=False)
    monkeypatch.setenv("MEDEID_DEVICE", "cpu")
    assert unit_plan(None) == (1, False)
    assert unit_plan(None, workers=2) == (8, False)  # header only, pool: results per 8 files
    assert unit_plan(PixelRequest(privacy=0.0, burned_in="auto")) == (1, False)
    assert unit_plan(PixelRequest(privacy=0.5)) == (1, False)  # CPU: per-file, byte-reproducible
    assert unit_plan(PixelRequest(privacy=0.5), workers=2) == (8, False)  # grouped, not shared
    monkeypatch.setenv("MEDEID_EXPORT_GROUP", "8")
    assert unit_plan(PixelRequest(privacy=0.5)) == (8, True)
    assert unit_plan(PixelRequest(privacy=0.0), {"1.2.3": 0.4}) == (8, True)
    assert unit_plan(PixelRequest(privacy=0.0)) == (1, False)


def test_units_without_shared_batches_run_each_file_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A unit on the CPU (no shared batches) gives byte-identical files to single-file runs."""
    inp = tmp_path / "in"
    files = copy_inputs(inp, ("CT_small.dcm", "MR_small.dcm"))
    from medeid_gui.deid.engine import DeidConfig
    from medeid_gui.deid.keys import ProjectKey

    key = ProjectKey.generate().export(tmp_path / "k.key")
    req = PixelRequest(privacy=0.5, burned_in="off")
    outs = {}
    for name, group in (("alone", 1), ("unit", 2)):
        init_worker(WorkerSetup(DeidConfig(), str(key), str(tmp_path / name), "dicom", req, {}, group, False))
        tasks = [Task(str(f), f.stat().st_size) for f in files]
        results = process_group(tasks) if group > 1 else [process(t) for t in tasks]
        assert all(r.status == "exported" for r in results)
        outs[name] = {r.output: r.output_sha256 for r in results}
    assert outs["alone"] == outs["unit"]
