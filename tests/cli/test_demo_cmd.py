"""``medeid demo``: the make-demo job works from a fresh checkout (export + audit, exit 0)."""

from __future__ import annotations

from pathlib import Path

import pytest

from medeid_gui.cli import main


def test_demo_exports_and_audits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MEDEID_STATE_DIR", str(tmp_path / "state"))
    rc = main(["demo", str(tmp_path / "demo"), "--burned-in", "off", "--workers", "1"])
    text = capsys.readouterr().out
    assert rc == 0, text
    assert "audit:" in text and "no leak found" in text
    assert list((tmp_path / "demo").rglob("*.dcm"))
    assert (tmp_path / "state" / "demo" / "demo.key").exists()
    # run again: resumes (or starts afresh for the fallback input) and still succeeds
    assert main(["demo", str(tmp_path / "demo"), "--burned-in", "off", "--workers", "1"]) == 0
