"""``medeid export``: exit codes, messages, --json lines, the tty-less quiet mode."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from pydicom.data import get_testdata_file

from medeid_gui.cli import main


@pytest.fixture()
def iso(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MEDEID_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("MEDEID_LEDGER", str(tmp_path / "ledger.sqlite"))
    monkeypatch.setenv("MEDEID_KEY_FILE", str(tmp_path / "project.key"))
    inp = tmp_path / "in"
    inp.mkdir()
    for n in ("CT_small.dcm", "rtplan.dcm"):
        shutil.copyfile(get_testdata_file(n), inp / n)
    return tmp_path


def test_clean_export_exits_0_and_prints_a_summary(iso: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["export", str(iso / "in"), str(iso / "out"), "--workers", "1", "--burned-in", "off"])
    out = capsys.readouterr()
    assert rc == 0, out.out + out.err
    assert "exported 2, skipped 0, failed 0" in out.out and "manifest:" in out.out
    assert "\r" not in out.err  # not a tty: no progress bar
    assert len(list((iso / "out").rglob("*.dcm"))) == 2


def test_a_bad_file_gives_exit_1_with_the_reason(iso: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = Path(get_testdata_file("MR_small.dcm")).read_bytes()
    (iso / "in" / "cut.dcm").write_bytes(data[:2000])
    rc = main(["export", str(iso / "in"), str(iso / "out"), "--workers", "1", "--burned-in", "off"])
    out = capsys.readouterr().out
    assert rc == 1
    assert "FAILED" in out and "cut.dcm" in out and "truncated" in out


def test_usage_errors_exit_2(iso: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", str(iso / "in"), str(iso / "in" / "sub")]) == 2
    assert "inside the input" in capsys.readouterr().err
    assert main(["export", str(iso / "in"), str(iso / "o"), "--option", "retain-everything"]) == 2
    assert "unknown de-identification option" in capsys.readouterr().err
    assert main(["export", str(iso / "nope"), str(iso / "o")]) == 2
    assert "input not found" in capsys.readouterr().err


def test_json_progress_lines(iso: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["export", str(iso / "in"), str(iso / "out"), "--workers", "1", "--burned-in", "off", "--json"])
    assert rc == 0
    lines = [json.loads(ln) for ln in capsys.readouterr().out.splitlines()]
    phases = [d["phase"] for d in lines[:-1]]
    assert phases[0] == "scan" and "export" in phases and phases[-1] == "done"
    assert lines[-1]["summary"]["exported"] == 2


def test_privacy_out_of_range_exits_2(iso: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The level is checked when the configuration is built: a usage error, not a traceback."""
    assert main(["export", str(iso / "in"), str(iso / "o"), "--privacy", "1.5"]) == 2
    assert "privacy must be between 0 and 1" in capsys.readouterr().err
    assert not (iso / "o").exists()
    with pytest.raises(SystemExit):  # argparse: UID=P with P outside [0, 1]
        main(["export", str(iso / "in"), str(iso / "o"), "--series-privacy", "1.2.3=2"])
    assert "expected UID=P" in capsys.readouterr().err


def test_strict_privacy_fails_a_ct_with_the_reason(iso: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """CT is outside the shipped model's domain: --privacy 1 exports it (pixels untouched, the
    reason in the manifest); --strict-privacy fails it with that reason and exit 1."""
    base = ["export", str(iso / "in"), "--workers", "1", "--burned-in", "off", "--privacy", "1"]
    assert main(base[:2] + [str(iso / "lax")] + base[2:]) == 0
    capsys.readouterr()
    rc = main(base[:2] + [str(iso / "strict")] + base[2:] + ["--strict-privacy"])
    out = capsys.readouterr().out
    assert rc == 1
    assert "CT_small.dcm" in out and "no pixel privacy model for CT" in out and "--strict-privacy" in out
    # only the RT plan (no pixels, not gated) was written; the CT nowhere, not even in part
    assert len(list((iso / "strict").rglob("*.dcm"))) == 1 and len(list((iso / "lax").rglob("*.dcm"))) == 2
