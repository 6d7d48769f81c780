"""The linkage ledger: original -> pseudonymous PatientID / Study / Series / SOP Instance UIDs.

Why a separate store: re-identification on a justified request (a finding that must reach the
patient) needs the mapping, but the de-identified output must never carry it. The ledger lives
under the user data folder (or ``--ledger PATH``), owner-only (0600), never in the output folder.
Rows carry a *key id* (a keyed value derived from the project key, not the key itself): a lookup
answers only for someone holding the same key, and the answer is verified by recomputing the
pseudonym from the original with that key.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS linkage (
    kind TEXT NOT NULL,
    original TEXT NOT NULL,
    pseudonym TEXT NOT NULL,
    key_id TEXT NOT NULL,
    first_seen REAL NOT NULL,
    PRIMARY KEY (kind, original, key_id)
);
CREATE INDEX IF NOT EXISTS linkage_pseudonym ON linkage(pseudonym);
"""

#: linkage kinds we keep (names as the header engine reports them)
KINDS = ("PatientID", "StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "AccessionNumber", "PatientName")


def default_ledger_path() -> Path:
    """``$MEDEID_LEDGER`` or ``<user data dir>/medeid/ledger.sqlite``."""
    env = os.environ.get("MEDEID_LEDGER")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_data_dir("medeid", appauthor=False)) / "ledger.sqlite"


def key_id_of(pseudonymizer: object) -> str:
    """A public fingerprint of the project key: a keyed UID of a fixed label (not invertible)."""
    return str(pseudonymizer.uid("medeid:ledger-key-id"))  # type: ignore[attr-defined]


@dataclass(frozen=True)
class LedgerEntry:
    kind: str
    original: str
    pseudonym: str
    key_id: str
    first_seen: float


class Ledger:
    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path else default_ledger_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        old = os.umask(0o077)
        try:
            self.conn = sqlite3.connect(str(self.path), isolation_level=None, timeout=30)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.executescript(_SCHEMA)
        finally:
            os.umask(old)
        os.chmod(self.path, stat.S_IRUSR | stat.S_IWUSR)

    def add(self, key_id: str, pairs: Iterable[tuple[str, str, str]]) -> int:
        """Insert (kind, original, pseudonym) pairs not yet present; return how many were new."""
        now = time.time()
        rows = [(k, o, p, key_id, now) for k, o, p in pairs if o and p]
        if not rows:
            return 0
        before = self.conn.total_changes
        self.conn.execute("BEGIN")
        self.conn.executemany(
            "INSERT OR IGNORE INTO linkage(kind, original, pseudonym, key_id, first_seen) VALUES (?,?,?,?,?)", rows
        )
        self.conn.execute("COMMIT")
        return self.conn.total_changes - before

    def lookup(self, pseudonym: str) -> list[LedgerEntry]:
        cur = self.conn.execute(
            "SELECT kind, original, pseudonym, key_id, first_seen FROM linkage "
            "WHERE pseudonym=? ORDER BY kind, original",
            (pseudonym,),
        )
        return [LedgerEntry(*r) for r in cur]

    def count(self) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM linkage").fetchone()[0])

    def close(self) -> None:
        self.conn.close()
