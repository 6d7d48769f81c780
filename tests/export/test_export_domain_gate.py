"""Export domain gating (issue #14): with ``--privacy 1`` real CT, MR and US files are exported with
header and burned-in text de-identification only -- Pixel Data byte-identical to the header-only
export, no 113101/113102 method code, the manifest row saying why -- and with ``--strict-privacy``
they fail with that reason; an image inside the model's domain still gets the method."""

from __future__ import annotations

import shutil
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file

from medeid_gui.export.pipeline import ExportConfig, run_export
from medeid_gui.export.rundb import read_manifest_csv
from tests.corpora import deid_data_file

#: real files outside the shipped model's domain (frontal chest radiographs): CT, MR, US
OUTSIDE = {
    "ct693.dcm": lambda: get_testdata_file("693_UNCR.dcm"),
    "ctbrain1.dcm": lambda: deid_data_file("humans", "ctbrain1.dcm"),
    "mr_small.dcm": lambda: get_testdata_file("MR_small.dcm"),
    "emri_small.dcm": lambda: get_testdata_file("emri_small.dcm"),
    "us_grey.dcm": lambda: deid_data_file("ultrasounds", "GREYSCALE_IMAGE.dcm"),
}
METHOD_CODES = {"113101", "113102"}


@pytest.fixture(autouse=True)
def _shipped_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    """The shipped model's engine, not one an earlier test built from another models folder."""
    from model_domains import fresh_engines

    fresh_engines(monkeypatch)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("gate_in")
    for name, src in OUTSIDE.items():
        (root / name[:-4]).mkdir()
        shutil.copyfile(src(), root / name[:-4] / name)
    return root


def _export(inp: Path, out: Path, env: dict[str, Path], **kw: object):
    return run_export(ExportConfig(input=inp, output=out, key_file=env["key"], ledger=env["ledger"],
                                   state_dir=env["state"], burned_in="off", workers=1, **kw))


def _rows(summary) -> dict[str, dict[str, str]]:
    return {Path(r["input_path"]).name: r for r in read_manifest_csv(summary.manifest_path)}


def _codes(ds: pydicom.Dataset) -> set[str]:
    return {str(item.CodeValue) for item in ds.get("DeidentificationMethodCodeSequence", [])}


def test_outside_the_domain_pixels_are_those_of_the_header_only_export(inputs, tmp_path, env):
    plain = _rows(_export(inputs, tmp_path / "plain", env))
    asked = _rows(_export(inputs, tmp_path / "asked", env, privacy=1.0))
    for name in OUTSIDE:
        a, b = plain[name], asked[name]
        assert a["status"] == b["status"] == "exported", (name, b["reason"])
        da = pydicom.dcmread(tmp_path / "plain" / a["output_path"])
        db = pydicom.dcmread(tmp_path / "asked" / b["output_path"])
        assert db.PixelData == da.PixelData, name
        assert not (_codes(db) & METHOD_CODES), (name, _codes(db))
        assert "privacy 1 asked; no pixel privacy model for" in b["reason"], (name, b["reason"])
        assert "privacy" not in a["reason"]
    assert "CT HEAD" in asked["ctbrain1.dcm"]["reason"] or "CT" in asked["ctbrain1.dcm"]["reason"]


def test_strict_privacy_fails_them_with_the_reason(inputs, tmp_path, env):
    out = tmp_path / "strict"
    s = _export(inputs, out, env, privacy=1.0, strict_privacy=True)
    rows = _rows(s)
    assert s.failed == len(OUTSIDE) and s.exported == 0
    for name in OUTSIDE:
        assert rows[name]["status"] == "failed"
        assert "privacy 1 asked; no pixel privacy model for" in rows[name]["reason"]
        assert "not exported (--strict-privacy)" in rows[name]["reason"]
        assert not rows[name]["output_path"]
    assert not list(out.rglob("*.dcm"))  # nothing half-written


@pytest.fixture(scope="module")
def chest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One generated frontal chest DX (the model's training distribution, unseen patients)."""
    from medeid_gui.lab.cohort import CohortConfig, generate_cohort

    root = tmp_path_factory.mktemp("chest_cohort")
    generate_cohort(root, CohortConfig(patients=3, studies_per_patient=1, seed=991))
    inp = tmp_path_factory.mktemp("chest_in")
    src = sorted((root / "dicom").rglob("*.dcm"))[0]
    shutil.copyfile(src, inp / "chest.dcm")
    return inp


def test_inside_the_domain_the_method_runs_and_is_declared(chest, tmp_path, env):
    plain = _rows(_export(chest, tmp_path / "plain", env))["chest.dcm"]
    asked = _rows(_export(chest, tmp_path / "asked", env, privacy=1.0, strict_privacy=True))["chest.dcm"]
    assert asked["status"] == "exported", asked["reason"]
    da = pydicom.dcmread(tmp_path / "plain" / plain["output_path"])
    db = pydicom.dcmread(tmp_path / "asked" / asked["output_path"])
    assert db.PixelData != da.PixelData
    assert "113102" in _codes(db) and "113102" not in _codes(da)


def test_rg1_is_inside_the_domain_but_unfamiliar(tmp_path, env):
    """RG1 (a real CR chest PA) passes the header gate; the model, trained on generated chests,
    scores it beyond its familiarity threshold, so the export says so and leaves its pixels."""
    inp = tmp_path / "rg1"
    inp.mkdir()
    shutil.copyfile(get_testdata_file("RG1_UNCR.dcm"), inp / "rg1.dcm")
    row = _rows(_export(inp, tmp_path / "out", env, privacy=1.0))["rg1.dcm"]
    assert row["status"] == "exported"
    assert "unfamiliar image: findings may not be kept" in row["reason"]
    assert "no pixel privacy model" not in row["reason"]
    strict = _rows(_export(inp, tmp_path / "strict", env, privacy=1.0, strict_privacy=True))["rg1.dcm"]
    assert strict["status"] == "failed" and "unfamiliar image" in strict["reason"]
