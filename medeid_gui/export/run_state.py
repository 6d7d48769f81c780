"""What the phases of one export run share: ``RunState``.

Why a dataclass: plan, execute and finish each need the configuration, the folders, the run
database, the ledger, the summary being filled and the progress/cancel callbacks. Passing them as
fourteen loose arguments hid which phase used what; one typed state object says it, and each
phase is a plain function of it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from medeid_gui.export.atomic import OutputWriteError
from medeid_gui.export.config import ExportConfig, ExportSummary
from medeid_gui.export.progress import ProgressEvent
from medeid_gui.export.rundb import FAILED, QUARANTINED, RunDB

if TYPE_CHECKING:  # pragma: no cover
    from medeid_gui.export.ledger import Ledger
    from medeid_gui.pixels.clean import PixelRequest


@dataclass
class RunState:
    """One run of :func:`medeid_gui.export.pipeline.run_export`, from opening to the summary."""

    cfg: ExportConfig
    inp: Path
    out: Path
    qdir: Path | None  #: quarantine folder for inputs that fail, if asked for
    key_file: str  #: the project key's file (workers load the key by path)
    pixel_request: PixelRequest | None  #: None: header-only export
    db: RunDB
    ledger: Ledger
    ledger_key: str  #: the key fingerprint the ledger files pseudonyms under
    summary: ExportSummary
    emit: Callable[[ProgressEvent], None]
    cancel: Callable[[], bool] | None
    #: the DICOMDIR File-set of an earlier run is complete (outputs moved out of the work folder)
    finalized: bool = False
    # export-phase progress, reported again by the final "done" event
    done: int = 0
    total: int = 0
    bytes_done: int = 0
    bytes_total: int = 0

    @property
    def workers(self) -> int:
        """Processes asked for (default: one per core)."""
        return max(1, int(self.cfg.workers or os.cpu_count() or 1))

    @property
    def work_root(self) -> Path:
        """Where workers write: a hidden work folder while a DICOMDIR File-set is being built."""
        from medeid_gui.export.dicomdir import WORK_DIR

        return self.out / WORK_DIR if self.cfg.dicomdir else self.out

    def cancelled(self) -> bool:
        return self.cancel is not None and self.cancel()

    def record_failure(self, p: Path, key: str, size: int | None, mtime: int | None, status: str, reason: str,
                       sha: str | None = None) -> None:
        """A manifest row for an input that is not exported; a failed one is copied to the
        quarantine folder when there is one (and recorded as quarantined if the copy worked)."""
        if status == FAILED and self.qdir is not None:
            from medeid_gui.export.quarantine import copy_to_quarantine

            try:
                copy_to_quarantine(self.qdir, self.inp, p)
                status = QUARANTINED
            except OutputWriteError as exc:
                reason = f"{reason}; quarantine copy failed: {exc.reason}"
            except OSError as exc:
                reason = f"{reason}; quarantine copy failed: {exc.strerror or exc}"
        self.db.record(key, status=status, reason=reason, size=size, mtime_ns=mtime, sha256=sha)
