"""Kill the exporting process with SIGKILL mid-run, rerun the same command: same bytes as a clean run."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import replicate, tree

from medeid_gui.export.rundb import run_dir_for

ROOT = Path(__file__).resolve().parents[2]


def _cmd(inp: Path, out: Path, env: dict[str, Path], workers: int, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "medeid_gui", "export", str(inp), str(out), "--workers", str(workers),
        "--burned-in", "off", "--key-file", str(env["key"]), "--ledger", str(env["ledger"]),
        "--state-dir", str(env["state"]), *extra,
    ]


def _committed(db: Path) -> int:
    """Exported rows the run database has committed (read-only, as another process would)."""
    if not db.exists():
        return 0
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        try:
            return int(con.execute("SELECT COUNT(*) FROM files WHERE status='exported'").fetchone()[0])
        finally:
            con.close()
    except sqlite3.Error:
        return 0


def _kill_midway(cmd: list[str], out: Path, db: Path, at_least: int) -> None:
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            if _committed(db) >= at_least:
                break
            if proc.poll() is not None:
                pytest.fail("export finished before it could be killed; make the input larger")
            time.sleep(0.01)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the CLI and any worker processes, at once
        proc.wait()
    assert proc.returncode == -signal.SIGKILL


# rows commit at most 0.5 s apart: enough files that the kill lands mid-run on a quiet machine
@pytest.mark.parametrize("workers,extra,n", [(1, (), 500), (2, ("--dicomdir",), 500)])
def test_sigkill_then_rerun_is_byte_identical(
    tmp_path: Path, env: dict[str, Path], workers: int, extra: tuple[str, ...], n: int
) -> None:
    inp = tmp_path / "in"
    replicate(inp, n)
    ref, out = tmp_path / "ref", tmp_path / "out"
    done = subprocess.run(_cmd(inp, ref, env, workers, *extra), cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    db = run_dir_for(out, env["state"]) / "run.sqlite"
    _kill_midway(_cmd(inp, out, env, workers, *extra), out, db, at_least=10)
    partial = sum(1 for _ in out.rglob("*.dcm"))
    assert 0 < partial < n
    again = subprocess.run(_cmd(inp, out, env, workers, *extra), cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "already done by an earlier run" in again.stdout
    assert tree(out) == tree(ref)
    assert len(tree(ref)) == n + (1 if extra else 0)
