from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture()
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """An isolated key, ledger and state folder (nothing lands in the user's real folders)."""
    d = {
        "key": tmp_path / "secrets" / "project.key",
        "ledger": tmp_path / "secrets" / "ledger.sqlite",
        "state": tmp_path / "state",
    }
    monkeypatch.setenv("MEDEID_STATE_DIR", str(d["state"]))
    monkeypatch.setenv("MEDEID_LEDGER", str(d["ledger"]))
    monkeypatch.setenv("MEDEID_KEY_FILE", str(d["key"]))
    return d
