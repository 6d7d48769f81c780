"""Output formats: DICOMDIR File-set (read by dcmdump and pydicom), PNG and NPY frames + metadata CSV."""

from __future__ import annotations

import csv
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pydicom
import pytest
from helpers import copy_inputs, data_file, replicate
from pydicom.fileset import FileSet

from medeid_gui.export.pipeline import ExportConfig, run_export
from medeid_gui.export.png import decode_png, encode_png
from medeid_gui.export.rundb import read_manifest_csv


def _cfg(inp: Path, out: Path, env: dict[str, Path], **kw) -> ExportConfig:
    kw.setdefault("workers", 1)
    kw.setdefault("burned_in", "off")
    return ExportConfig(input=inp, output=out, key_file=env["key"], ledger=env["ledger"], state_dir=env["state"], **kw)


def test_dicomdir_is_read_by_pydicom_and_dcmdump(tmp_path: Path, env: dict[str, Path]) -> None:
    inp = tmp_path / "in"
    copy_inputs(inp)
    replicate(inp / "rep", 6)
    s = run_export(_cfg(inp, tmp_path / "out", env, dicomdir=True))
    assert s.exported >= 12
    out = tmp_path / "out"
    assert not (out / ".medeid-work").exists()
    fs = FileSet(out / "DICOMDIR")
    rows = [r for r in read_manifest_csv(s.manifest_path) if r["status"] == "exported"]
    listed = [r for r in rows if not r["output_path"].startswith("UNLISTED/")]
    assert len(fs) == len(listed) >= 12
    for inst in fs:
        ds = inst.load()
        assert ds.SOPInstanceUID == inst.SOPInstanceUID and str(ds.SOPInstanceUID).startswith("2.25.")
    for r in rows:  # the manifest points at the final place and hash
        p = out / r["output_path"]
        assert p.is_file()
        assert __import__("hashlib").sha256(p.read_bytes()).hexdigest() == r["output_sha256"]
    if shutil.which("dcmdump") is None:
        pytest.skip("dcmdump (dcmtk) not installed")
    res = subprocess.run(["dcmdump", str(out / "DICOMDIR")], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.count("(0004,1500)") == len(listed)  # one ReferencedFileID per instance
    assert "PATIENT" in res.stdout and "IMAGE" in res.stdout


def test_png_export_frames_and_metadata(tmp_path: Path, env: dict[str, Path]) -> None:
    inp = tmp_path / "in"
    copy_inputs(inp, ("CT_small.dcm", "SC_rgb.dcm", "emri_small.dcm", "rtplan.dcm"))
    # unreadable pixel data: JPEG fragments destroyed -> a failure with a reason, not a crash
    jp = bytearray(data_file("JPEG-lossy.dcm").read_bytes())
    k = jp.find(b"\xff\xd8")
    jp[k : k + 400] = b"\x00" * 400
    (inp / "broken_jpeg.dcm").write_bytes(bytes(jp))
    s = run_export(_cfg(inp, tmp_path / "out", env, fmt="png"))
    rows = {Path(r["input_path"]).name: r for r in read_manifest_csv(s.manifest_path)}
    assert rows["rtplan.dcm"]["status"] == "skipped" and "no pixel data" in rows["rtplan.dcm"]["reason"]
    assert rows["broken_jpeg.dcm"]["status"] == "failed" and rows["broken_jpeg.dcm"]["reason"]
    out = tmp_path / "out"
    with open(out / "metadata.csv", newline="") as fh:
        meta = list(csv.DictReader(fh))
    n_frames = 1 + 1 + pydicom.dcmread(data_file("emri_small.dcm")).NumberOfFrames
    assert len(meta) == n_frames == len(list(out.rglob("*.png")))
    ct = pydicom.dcmread(data_file("CT_small.dcm"))
    for m in meta:
        img = decode_png((out / m["file"]).read_bytes())
        assert img.shape[:2] == (int(m["rows"]), int(m["columns"]))
        assert img.dtype == np.uint8 and img.max() > img.min()
        assert m["sop_instance_uid"].startswith("2.25.") and m["patient_id"] != str(ct.PatientID)
    rgb = [m for m in meta if m["photometric"] == "RGB"]
    assert rgb and decode_png((out / rgb[0]["file"]).read_bytes()).shape[2] == 3
    text = (out / "metadata.csv").read_text()
    assert str(ct.SOPInstanceUID) not in text and str(ct.PatientName) not in text


def test_npy_keeps_modality_values(tmp_path: Path, env: dict[str, Path]) -> None:
    inp = tmp_path / "in"
    copy_inputs(inp, ("CT_small.dcm",))
    run_export(_cfg(inp, tmp_path / "out", env, fmt="npy"))
    arr = np.load(next((tmp_path / "out").rglob("frame_0000.npy")))
    ds = pydicom.dcmread(data_file("CT_small.dcm"))
    expected = ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    assert arr.dtype == np.float32 and np.allclose(arr, expected)


def test_png_encoder_roundtrip_and_pillow_agrees() -> None:
    rng = np.random.default_rng(0)
    for a in (rng.integers(0, 256, (7, 5), dtype=np.uint8), rng.integers(0, 65536, (4, 9), dtype=np.uint16),
              rng.integers(0, 256, (3, 4, 3), dtype=np.uint8)):
        b = encode_png(a)
        assert np.array_equal(decode_png(b), a)
        PIL = pytest.importorskip("PIL.Image")
        import io

        assert np.array_equal(np.asarray(PIL.open(io.BytesIO(b))), a)


def test_finished_dicomdir_is_rebuilt_when_inputs_are_added(tmp_path: Path, env: dict[str, Path]) -> None:
    """New inputs after a finished --dicomdir run: the File-set is rebuilt, the same as a fresh one."""
    from helpers import tree

    inp = tmp_path / "in"
    copy_inputs(inp, ("CT_small.dcm", "MR_small.dcm"))
    (inp / "notes.txt").write_text("not DICOM")
    first = run_export(_cfg(inp, tmp_path / "out", env, dicomdir=True))
    assert first.ok and first.exported == 2 and first.skipped == 1
    copy_inputs(inp / "later", ("US1_UNCR.dcm",))
    again = run_export(_cfg(inp, tmp_path / "out", env, dicomdir=True))
    assert again.ok and again.exported == 3 and again.skipped == 1
    assert again.resumed == 0  # the File-set is rebuilt from scratch: every instance again
    fresh = run_export(_cfg(inp, tmp_path / "fresh", env, dicomdir=True))
    assert fresh.ok and fresh.exported == 3
    assert not (tmp_path / "out" / ".medeid-work").exists()
    assert tree(tmp_path / "out") == tree(tmp_path / "fresh")
    assert len(FileSet(tmp_path / "out" / "DICOMDIR")) == 3
    rows = {Path(r["input_path"]).name: r["status"] for r in read_manifest_csv(again.manifest_path)}
    assert rows == {"notes.txt": "skipped", "CT_small.dcm": "exported", "MR_small.dcm": "exported",
                    "US1_UNCR.dcm": "exported"}
