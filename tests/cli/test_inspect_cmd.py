"""``medeid inspect``: the decision list for one file, as a table or JSON; input untouched."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from pydicom.data import get_testdata_file

from medeid_gui.cli import main


@pytest.fixture()
def key_file(tmp_path: Path) -> Path:
    return tmp_path / "project.key"


def _sha(p: str) -> str:
    return hashlib.sha256(Path(p).read_bytes()).hexdigest()


def test_inspect_table(capsys: pytest.CaptureFixture[str], key_file: Path) -> None:
    f = get_testdata_file("CT_small.dcm")
    before = _sha(f)
    rc = main(["inspect", f, "--key-file", str(key_file)])
    out = capsys.readouterr().out
    assert rc == 0
    assert _sha(f) == before
    assert key_file.exists()  # created on first use
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["ATTRIBUTE", "TAG", "ACTION"]
    pid = next(line for line in lines if line.startswith("PatientID "))
    assert "(0010,0020)" in pid and "1CT1" in pid
    assert any(line.startswith("InstitutionName") and " X " in line for line in lines)
    assert "options: none (Basic Profile)" in out


def test_inspect_json_with_options(capsys: pytest.CaptureFixture[str], key_file: Path) -> None:
    f = get_testdata_file("CT_small.dcm")
    rc = main(["inspect", f, "--profile", "research", "--option", "retain-uids", "--json",
               "--key-file", str(key_file)])
    assert rc == 0
    rows = json.loads(capsys.readouterr().out)
    by_kw = {r["keyword"]: r for r in rows}
    assert set(rows[0]) == {"path", "tag", "keyword", "name", "action", "reason", "old", "new"}
    assert by_kw["SOPInstanceUID"]["action"] == "K"  # retain-uids
    assert by_kw["StudyDate"]["action"] == "C" and by_kw["StudyDate"]["new"] != "20040119"


def test_inspect_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path, key_file: Path) -> None:
    junk = tmp_path / "junk.dcm"
    junk.write_bytes(b"not dicom at all" * 10)
    assert main(["inspect", str(junk), "--key-file", str(key_file)]) == 1
    assert "cannot read" in capsys.readouterr().err
    f = get_testdata_file("CT_small.dcm")
    assert main(["inspect", f, "--option", "retain-all", "--key-file", str(key_file)]) == 2
    assert "unknown de-identification option" in capsys.readouterr().err


def _enhanced_mr(tmp_path: Path) -> tuple[Path, str]:
    """A real enhanced MR file with Creator-Version UID (0008,9123), added if the copy lacks it."""
    import pydicom

    ds = pydicom.dcmread(get_testdata_file("emri_small.dcm"))
    if "CreatorVersionUID" not in ds:
        ds.CreatorVersionUID = "1.3.46.670589.11.0.0.51.4.56.1"
    p = tmp_path / "emri.dcm"
    ds.save_as(p, enforce_file_format=False)
    return p, str(ds.CreatorVersionUID)


def test_inspect_lists_creator_version_uid_and_every_element(
    capsys: pytest.CaptureFixture[str], key_file: Path, tmp_path: Path
) -> None:
    import pydicom

    f, original = _enhanced_mr(tmp_path)
    assert main(["inspect", str(f), "--key-file", str(key_file)]) == 0
    lines = capsys.readouterr().out.splitlines()
    row = next(line for line in lines if "(0008,9123)" in line)
    assert row.startswith("CreatorVersionUID") and " U " in row and "UID rule" in row
    assert any("kept: not in Table E.1-1" in line for line in lines)
    assert main(["inspect", str(f), "--json", "--key-file", str(key_file)]) == 0
    rows = json.loads(capsys.readouterr().out)
    cv = next(r for r in rows if r["tag"] == "(0008,9123)")
    assert cv["action"] == "U" and cv["old"] == original and cv["new"].startswith("2.25.")
    assert "not in Table E.1-1" in cv["reason"]
    # every element of the file, at every depth and in the file meta, has a row
    ds = pydicom.dcmread(f)
    tags = {f"({int(e.tag) >> 16:04X},{int(e.tag) & 0xFFFF:04X})"
            for e in list(ds.iterall()) + list(ds.file_meta)}
    assert tags <= {r["tag"] for r in rows}
    kept = [r for r in rows if r["reason"].startswith("kept: not in Table E.1-1")]
    assert kept and all(r["action"] == "K" for r in kept)


def test_inspect_explains_the_uid_rule(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", "--explain-uids"]) == 0
    out = capsys.readouterr().out
    assert "UID rule" in out and "ClassUID" in out and "1.2.840.10008." in out
    assert main(["inspect"]) == 2
