"""What an export is asked to do (``ExportConfig``) and what it reports (``ExportSummary``).

Why a module of its own: these two dataclasses are the contract the GUI's export dialog and the
CLI share (docs/DEVELOPING.md); the phases of the run (plan, execute, finish) only read them.
The privacy levels are checked here, once, when the configuration is built, so nothing further
down checks them again.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from medeid_gui.ml.privacy import Privacy, SeriesPrivacy, check_privacy, check_series_privacy

if TYPE_CHECKING:  # pragma: no cover
    from medeid_gui.deid.engine import DeidConfig

FORMATS = ("dicom", "png", "npy")
BURNED_IN = ("auto", "all", "off", "on")  # "on" is an alias of "all"


class ExportError(Exception):
    """The export cannot start (bad folders, mismatched earlier run, missing pixel step …)."""


def _default_deid() -> DeidConfig:
    from medeid_gui.deid.engine import DeidConfig  # lazily: the header-only CLI starts faster

    return DeidConfig()


@dataclass(frozen=True)
class ExportConfig:
    """What to export and how. Field names are the GUI/CLI contract (docs/DEVELOPING.md).

    Frozen: the levels are checked when it is built (``ExportError`` for one outside [0, 1]),
    and a configuration that cannot change afterwards stays checked.
    """

    input: Path | str
    output: Path | str
    deid: DeidConfig = field(default_factory=_default_deid)
    key_file: Path | str | None = None
    workers: int | None = None
    fmt: str = "dicom"
    dicomdir: bool = False
    quarantine: Path | str | None = None
    privacy: Privacy = 0.0
    burned_in: str = "auto"
    rectangles: Sequence[tuple[int, int, int, int]] | None = None
    #: per-series privacy level (original SeriesInstanceUID -> level); other series use ``privacy``
    privacy_by_series: SeriesPrivacy | None = None
    #: a file the method may not run on (outside every model's domain, unfamiliar) fails with the
    #: reason instead of being exported with header and burned-in text de-identification only
    strict_privacy: bool = False
    # extensions
    state_dir: Path | str | None = None  #: where run databases live (default: user state dir)
    ledger: Path | str | None = None  #: linkage ledger file (default: user data dir)
    manifest: Path | str | None = None  #: also copy manifest.csv here
    #: run the workers on a Dask cluster: ``local:N`` or ``tcp://…``/``tls://…`` (export/cluster.py)
    cluster: str | None = None

    def __post_init__(self) -> None:
        try:
            privacy = check_privacy(self.privacy)
            by_series = None if self.privacy_by_series is None else check_series_privacy(self.privacy_by_series)
        except ValueError as exc:
            raise ExportError(str(exc)) from None
        object.__setattr__(self, "privacy", privacy)
        object.__setattr__(self, "privacy_by_series", by_series)


@dataclass
class ExportSummary:
    exported: int = 0
    skipped: int = 0
    failed: int = 0
    quarantined: int = 0
    manifest_path: Path | None = None
    failures: list[tuple[str, str]] = field(default_factory=list)
    # extensions
    resumed: int = 0  #: files already exported by an earlier, interrupted run of the same command
    files: int = 0
    studies: int = 0
    bytes: int = 0
    cancelled: bool = False
    run_db: Path | None = None
    ledger_path: Path | None = None
    notes: list[str] = field(default_factory=list)
    finalize_error: str = ""

    @property
    def ok(self) -> bool:
        return self.failed == 0 and self.quarantined == 0 and not self.cancelled and not self.finalize_error


def display_path(p: Path | str) -> str:
    """A text form of a path that is always valid UTF-8 (odd bytes shown as \\xNN)."""
    return os.fsencode(str(p)).decode("utf-8", "backslashreplace")
