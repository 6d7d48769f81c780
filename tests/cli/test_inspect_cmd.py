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
