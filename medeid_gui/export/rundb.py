"""The run database: one row per input file, written as the export goes, used to resume.

Why SQLite (stdlib ``sqlite3``, WAL): a row is committed right after its output file has been
renamed into place, so after a crash the database never claims an output that is not complete;
the opposite case (file renamed, row not yet committed) only makes the rerun redo that file,
which writes the same bytes again. Why outside the output folder: the rows hold *input* paths
and hashes, and input paths often carry names ("SMITH_JOHN/CT 2019"). The output folder must
hold nothing that identifies. ``manifest.csv`` is exported beside the database at the end.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

#: statuses a manifest row can have
EXPORTED, SKIPPED, FAILED, QUARANTINED, PENDING = "exported", "skipped", "failed", "quarantined", "pending"

MANIFEST_COLUMNS = (
    "input_path",
    "size",
    "sha256",
    "status",
    "reason",
    "output_path",
    "output_sha256",
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS run (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    input TEXT PRIMARY KEY,
    size INTEGER,
    mtime_ns INTEGER,
    sha256 TEXT,
    status TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    output TEXT,
    output_sha256 TEXT,
    meta TEXT,
    updated REAL
);
CREATE INDEX IF NOT EXISTS files_output ON files(output);
"""


def default_state_dir() -> Path:
    """Where run databases live: ``$MEDEID_STATE_DIR`` or the platform's user state folder."""
    env = os.environ.get("MEDEID_STATE_DIR")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_state_dir("medeid", appauthor=False))


def run_dir_for(output: Path, state_dir: Path | None = None) -> Path:
    """The state folder of the export into ``output`` (keyed by its resolved path)."""
    key = hashlib.sha256(str(Path(output).resolve()).encode("utf-8", "surrogateescape")).hexdigest()[:20]
    return (state_dir or default_state_dir()) / "runs" / key


@dataclass
class FileRow:
    input: str
    size: int | None
    mtime_ns: int | None
    sha256: str | None
    status: str
    reason: str
    output: str | None
    output_sha256: str | None
    meta: str | None


class RunDB:
    """Thin wrapper over the SQLite file; only the main process writes to it."""

    def __init__(self, path: Path, *, before_commit: Callable[[], None] | None = None) -> None:
        self.path = Path(path)
        self.before_commit = before_commit
        self.path.parent.mkdir(parents=True, exist_ok=True)
        old = os.umask(0o077)  # input paths and hashes: owner-only, like the ledger
        try:
            self.conn = sqlite3.connect(str(self.path), isolation_level=None, timeout=30)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.executescript(_SCHEMA)
        finally:
            os.umask(old)
        try:
            os.chmod(self.path, 0o600)
        except OSError:
            pass
        self._pending = 0
        self._in_tx = False
        self._last_commit = time.monotonic()

    # settings -----------------------------------------------------------------------------
    def get(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM run WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def set(self, key: str, value: str) -> None:
        self.flush()
        self.conn.execute("INSERT OR REPLACE INTO run(key, value) VALUES (?, ?)", (key, value))

    # rows ----------------------------------------------------------------------------------
    def row(self, input_path: str) -> FileRow | None:
        r = self.conn.execute(
            "SELECT input,size,mtime_ns,sha256,status,reason,output,output_sha256,meta FROM files WHERE input=?",
            (input_path,),
        ).fetchone()
        return FileRow(*r) if r else None

    def rows(self) -> Iterator[FileRow]:
        cur = self.conn.execute(
            "SELECT input,size,mtime_ns,sha256,status,reason,output,output_sha256,meta FROM files ORDER BY input"
        )
        for r in cur:
            yield FileRow(*r)

    def record(
        self,
        input_path: str,
        *,
        status: str,
        reason: str = "",
        size: int | None = None,
        mtime_ns: int | None = None,
        sha256: str | None = None,
        output: str | None = None,
        output_sha256: str | None = None,
        meta: object | None = None,
    ) -> None:
        """Insert or replace one row; committed in small batches (at most ~0.5 s apart)."""
        if not self._in_tx:
            self.conn.execute("BEGIN")
            self._in_tx = True
        self.conn.execute(
            "INSERT OR REPLACE INTO files(input,size,mtime_ns,sha256,status,reason,output,output_sha256,meta,updated)"
            " VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                input_path,
                size,
                mtime_ns,
                sha256,
                status,
                reason,
                output,
                output_sha256,
                json.dumps(meta, sort_keys=True) if meta is not None else None,
                time.time(),
            ),
        )
        self._pending += 1
        if self._pending >= 256 or time.monotonic() - self._last_commit > 0.5:
            self.flush()

    def flush(self) -> None:
        if self._in_tx:
            if self.before_commit is not None and self._pending:
                self.before_commit()
            self.conn.execute("COMMIT")
            self._in_tx = False
        self._pending = 0
        self._last_commit = time.monotonic()

    def counts(self) -> dict[str, int]:
        self.flush()
        return dict(self.conn.execute("SELECT status, COUNT(*) FROM files GROUP BY status").fetchall())

    def export_csv(self, path: Path) -> Path:
        """Write ``manifest.csv`` (sorted by input path) via a temporary file; owner-only."""
        self.flush()
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        old = os.umask(0o077)
        try:
            with open(tmp, "w", newline="", encoding="utf-8", errors="surrogateescape") as fh:
                w = csv.writer(fh)
                w.writerow(MANIFEST_COLUMNS)
                for r in self.rows():
                    row = [r.input, r.size, r.sha256 or "", r.status, r.reason, r.output or "", r.output_sha256 or ""]
                    w.writerow(row)
        finally:
            os.umask(old)
        os.replace(tmp, path)
        return path

    def close(self) -> None:
        self.flush()
        self.conn.close()


def read_manifest_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8", errors="surrogateescape") as fh:
        return list(csv.DictReader(fh))


def iter_chunks(items: Iterable, n: int) -> Iterator[list]:
    buf: list = []
    for it in items:
        buf.append(it)
        if len(buf) >= n:
            yield buf
            buf = []
    if buf:
        yield buf
