"""``medeid ledger lookup``: answers with the key that made the pseudonym, refuses without it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file

from medeid_gui.cli import main


def test_lookup_needs_the_right_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MEDEID_STATE_DIR", str(tmp_path / "state"))
    led, key = tmp_path / "ledger.sqlite", tmp_path / "a.key"
    inp = tmp_path / "in"
    inp.mkdir()
    shutil.copyfile(get_testdata_file("CT_small.dcm"), inp / "ct.dcm")
    assert (
        main(
            [
                "export",
                str(inp),
                str(tmp_path / "out"),
                "--workers",
                "1",
                "--burned-in",
                "off",
                "--key-file",
                str(key),
                "--ledger",
                str(led),
            ]
        )
        == 0
    )
    out_ds = pydicom.dcmread(next((tmp_path / "out").rglob("*.dcm")))
    orig = pydicom.dcmread(inp / "ct.dcm")
    capsys.readouterr()
    assert main(["ledger", "lookup", str(out_ds.PatientID), "--key-file", str(key), "--ledger", str(led)]) == 0
    text = capsys.readouterr().out
    assert f"PatientID: {orig.PatientID}" in text and "verified with the key" in text
    assert main(["ledger", "lookup", str(out_ds.StudyInstanceUID), "--key-file", str(key), "--ledger", str(led)]) == 0
    assert str(orig.StudyInstanceUID) in capsys.readouterr().out
    # another key: no answer
    from medeid_gui.deid.keys import ProjectKey

    ProjectKey.generate().export(tmp_path / "b.key")
    assert (
        main(["ledger", "lookup", str(out_ds.PatientID), "--key-file", str(tmp_path / "b.key"), "--ledger", str(led)])
        == 1
    )
    text = capsys.readouterr().out
    assert "different project key" in text and str(orig.PatientID) not in text
    assert main(["ledger", "lookup", "NOPE", "--key-file", str(key), "--ledger", str(led)]) == 1
    assert (led.stat().st_mode & 0o077) == 0
