"""``medeid import-images``: exit codes, reasons on stderr, the report file and column options."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image

from medeid_gui.cli import main


@pytest.fixture
def data(tmp_path: Path) -> tuple[Path, Path]:
    img = tmp_path / "img"
    img.mkdir()
    for i in range(3):
        Image.fromarray(np.full((10, 12), 40 * i, np.uint8)).save(img / f"{i}.png")
    meta = tmp_path / "m.csv"
    with open(meta, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["name", "pid", "offset", "view", "license"])
        w.writerow(["0.png", "A", "0", "PA", "CC BY"])
        w.writerow(["1.png", "A", "4", "AP", "CC BY-NC-ND"])
        w.writerow(["2.png", "B", "0", "PA", ""])
    return img, meta


def test_import_with_named_columns(data, tmp_path: Path, capsys) -> None:
    img, meta = data
    out, report = tmp_path / "out", tmp_path / "report.csv"
    argv = ["import-images", str(img), str(out), "--metadata", str(meta), "--column", "image=name",
            "--column", "patient=pid", "--body-part", "chest", "--modality", "cr", "--report", str(report)]
    assert main(argv) == 0
    assert "written 3, skipped 0" in capsys.readouterr().out
    files = sorted(out.rglob("*.dcm"))
    assert len(files) == 3
    ds = pydicom.dcmread(files[0])
    assert ds.Modality == "CR" and ds.BodyPartExamined == "CHEST"
    rows = _rows(report)
    assert [r["licence"] for r in rows] == ["CC BY", "CC BY-NC-ND", ""]
    # second run: nothing replaced, exit 1 with the reason; --force rewrites
    assert main(argv) == 1
    assert "use --force" in capsys.readouterr().err
    assert main(argv + ["--force", "-q"]) == 0


def test_missing_column_and_bad_option(data, tmp_path: Path, capsys) -> None:
    img, meta = data
    assert main(["import-images", str(img), str(tmp_path / "o"), "--metadata", str(meta)]) == 2
    assert "no image column 'image'" in capsys.readouterr().err
    assert main(["import-images", str(img), str(tmp_path / "o"), "--metadata", str(meta),
                 "--column", "colour=x"]) == 2
    assert "FIELD=NAME" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_bad_row_reported_and_run_goes_on(data, tmp_path: Path, capsys) -> None:
    img, meta = data
    (img / "1.png").write_bytes(b"not a png")
    rc = main(["import-images", str(img), str(tmp_path / "o"), "--metadata", str(meta),
               "--column", "image=name", "--column", "patient=pid"])
    assert rc == 1
    cap = capsys.readouterr()
    assert "skipped row 2 1.png: not an image file" in cap.err
    assert "written 2, skipped 1" in cap.out


def _rows(path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_imported_files_go_through_export(data, tmp_path: Path, monkeypatch, capsys) -> None:
    """The point of the import: the same de-identification export as any DICOM archive."""
    monkeypatch.setenv("MEDEID_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("MEDEID_LEDGER", str(tmp_path / "ledger.sqlite"))
    monkeypatch.setenv("MEDEID_KEY_FILE", str(tmp_path / "project.key"))
    img, meta = data
    assert main(["import-images", str(img), str(tmp_path / "dcm"), "--metadata", str(meta),
                 "--column", "image=name", "--column", "patient=pid", "-q"]) == 0
    rc = main(["export", str(tmp_path / "dcm"), str(tmp_path / "deid"), "--workers", "1", "--burned-in", "off"])
    assert rc == 0 and "exported 3, skipped 0, failed 0" in capsys.readouterr().out
    out = [pydicom.dcmread(p) for p in sorted((tmp_path / "deid").rglob("*.dcm"))]
    assert len(out) == 3 and {ds.PatientID for ds in out}.isdisjoint({"A", "B"})
    src = {pydicom.dcmread(p).pixel_array.tobytes() for p in (tmp_path / "dcm").rglob("*.dcm")}
    assert {ds.pixel_array.tobytes() for ds in out} == src  # no pixel privacy asked: pixels kept
