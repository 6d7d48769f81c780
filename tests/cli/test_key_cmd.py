"""``medeid key``: show-path creates an owner-only key; export / import move it safely."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from medeid_gui.cli import main
from medeid_gui.deid.keys import ProjectKey


def test_show_path_creates_key(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    key = tmp_path / "data" / "project.key"
    monkeypatch.setenv("MEDEID_KEY_FILE", str(key))
    assert main(["key", "show-path"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == str(key) and out[1].startswith("fingerprint ")
    if os.name == "posix":
        assert stat.S_IMODE(key.stat().st_mode) == 0o600


def test_export_then_import_elsewhere(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    a, b, exported = tmp_path / "a.key", tmp_path / "b.key", tmp_path / "export.key"
    assert main(["key", "--key-file", str(a), "export", str(exported)]) == 0
    assert main(["key", "--key-file", str(a), "export", str(exported)]) == 1  # no overwrite
    assert "refusing" in capsys.readouterr().err
    assert main(["key", "--key-file", str(b), "import", str(exported)]) == 0
    assert ProjectKey.from_file(b).secret == ProjectKey.from_file(a).secret


def test_import_refuses_to_replace_a_different_key(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    mine, theirs = tmp_path / "mine.key", tmp_path / "theirs.key"
    ProjectKey.load_or_create(mine)
    ProjectKey.load_or_create(theirs)
    assert main(["key", "--key-file", str(mine), "import", str(theirs)]) == 1
    assert "holds another key" in capsys.readouterr().err
    assert ProjectKey.from_file(mine).secret != ProjectKey.from_file(theirs).secret
    assert main(["key", "--key-file", str(mine), "import", str(theirs), "--force"]) == 0
    assert ProjectKey.from_file(mine).secret == ProjectKey.from_file(theirs).secret
    bad = tmp_path / "bad.key"
    bad.write_text("nope")
    assert main(["key", "--key-file", str(mine), "import", str(bad)]) == 1
