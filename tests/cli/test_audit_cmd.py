"""``medeid audit``: exit 0 on a clean export, 1 with the finding printed when a value is left in."""

from __future__ import annotations

import shutil
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file

from medeid_gui.cli import main


def test_audit_exit_codes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("MEDEID_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("MEDEID_LEDGER", str(tmp_path / "ledger.sqlite"))
    monkeypatch.setenv("MEDEID_KEY_FILE", str(tmp_path / "project.key"))
    inp, out = tmp_path / "in", tmp_path / "out"
    inp.mkdir()
    for n in ("CT_small.dcm", "MR_small.dcm"):
        shutil.copyfile(get_testdata_file(n), inp / n)
    assert main(["export", str(inp), str(out), "--workers", "1", "--burned-in", "off"]) == 0
    capsys.readouterr()
    assert main(["audit", str(inp), str(out)]) == 0
    assert "no leak found" in capsys.readouterr().out
    victim = next(out.rglob("*.dcm"))
    ds = pydicom.dcmread(victim)
    orig = pydicom.dcmread(inp / "CT_small.dcm")
    ds.InstitutionName = str(orig.InstitutionName)  # left in, as a peer tool would
    ds.save_as(victim)
    assert main(["audit", str(inp), str(out)]) == 1
    text = capsys.readouterr().out
    assert "LEAK" in text and "InstitutionName" in text and victim.name in text
    assert str(orig.InstitutionName) not in text  # the report masks the value
