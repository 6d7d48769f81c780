"""Background scanning of folders / DICOMDIRs / files, and series thumbnails.

Why a worker: discovery reads the first bytes of every file in a folder tree (possibly a network
share with thousands of files); on the GUI thread that would freeze the window. The scan runs in
a superqt worker thread with a cancel flag the core's ``discover`` polls, and progress arrives on
the main thread through the worker's queued signals.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from .bridge import RelayedJob

if TYPE_CHECKING:  # pydicom loads with the first scan, in the worker
    import numpy as np
    from superqt.utils import GeneratorWorker

    from medeid_gui.dicom.discover import Rejected
    from medeid_gui.dicom.studies import PatientNode

log = logging.getLogger("medeid.ui")


@dataclass
class ScanResult:
    """What the browser shows: grouped patients plus the files that were not usable."""

    paths: list[Path]
    patients: list[PatientNode]
    n_instances: int
    rejected: list[Rejected] = field(default_factory=list)
    seconds: float = 0.0


def scan_paths(paths: Sequence[Path], cancel: threading.Event,
               report: Callable[[tuple[int, int, str]], None]) -> ScanResult:
    """Discover and group (runs in the worker thread)."""
    from medeid_gui.dicom.discover import discover
    from medeid_gui.dicom.studies import group

    from .bridge import lower_thread_priority

    lower_thread_priority()
    t0 = time.perf_counter()
    last = [0.0]

    def progress(n_seen: int) -> None:  # discover's contract: files examined so far
        now = time.perf_counter()
        if now - last[0] >= 0.05:  # at most ~20 updates/s reach the GUI
            last[0] = now
            report((int(n_seen), 0, ""))

    disc = discover(list(paths), cancel=cancel.is_set, progress=progress)
    if cancel.is_set() or disc.cancelled:
        raise ScanCancelled()
    patients = group(disc.instances)
    return ScanResult(
        paths=list(paths),
        patients=patients,
        n_instances=len(disc.instances),
        rejected=list(disc.rejected),
        seconds=time.perf_counter() - t0,
    )


class ScanCancelled(Exception):
    """The user pressed Cancel; not an error."""


class ScanJob(RelayedJob):
    """One scan: ``progress(done, total, text)``, then exactly one of finished/failed/cancelled."""

    progress = Signal(int, int, str)
    finished = Signal(object)  # ScanResult
    failed = Signal(str, str)
    cancelled = Signal()

    def __init__(self, paths: Sequence[Path], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.paths = [Path(p) for p in paths]
        self._cancel = threading.Event()
        self._worker = None

    def start(self) -> None:
        self._worker = self._start_worker(scan_paths, self.paths, self._cancel)

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def running(self) -> bool:
        return self._worker is not None and self._worker.is_running

    def _on_error(self, exc: Exception) -> None:
        if isinstance(exc, ScanCancelled) or self._cancel.is_set():
            self.cancelled.emit()
            return
        import traceback

        self.failed.emit(f"{type(exc).__name__}: {exc}", "".join(traceback.format_exception(exc)))


# -- thumbnails -----------------------------------------------------------------------------

THUMB = 64


def window_to_uint8(frame: np.ndarray, center: float, width: float, invert: bool = False) -> np.ndarray:
    """Linear VOI window to 8 bits (thumbnails only; the viewers window on the GPU side)."""
    import numpy as np

    lo = center - width / 2.0
    out = np.clip((frame - lo) / max(width, 1e-6), 0.0, 1.0)
    if invert:
        out = 1.0 - out
    return (out * 255.0 + 0.5).astype(np.uint8)


def thumbnail_array(path: Path, size: int = THUMB) -> np.ndarray:
    """A small 8-bit (rows, cols[, 3]) preview of the middle frame of one instance."""
    import numpy as np

    from medeid_gui.dicom.frames import FrameSource

    src = FrameSource(path)
    frame = src.frame(src.n_frames // 2)
    step = max(1, int(np.ceil(max(frame.shape[:2]) / size)))
    small = np.ascontiguousarray(frame[::step, ::step])
    if src.is_color and small.ndim == 3:
        return np.clip(small, 0, 255).astype(np.uint8)
    try:
        w = src.default_window()
        c, wd = float(w.center), float(w.width)
    except Exception:  # noqa: BLE001 - no usable window in the file: stretch
        lo, hi = float(np.min(small)), float(np.max(small))
        c, wd = (lo + hi) / 2, max(hi - lo, 1.0)
    return window_to_uint8(small, c, wd, bool(src.invert_display))


def _thumbnails(jobs: list[tuple[str, Path]]) -> Iterator[tuple[str, np.ndarray]]:
    from .bridge import lower_thread_priority

    lower_thread_priority()
    for key, path in jobs:
        try:
            yield key, thumbnail_array(path)
        except Exception as exc:  # noqa: BLE001 - a series without a decodable frame keeps its text row
            log.info("no thumbnail for %s: %s", path, exc)


def start_thumbnails(jobs: list[tuple[str, Path]],
                     on_thumb: Callable[[str, tuple[str, np.ndarray]], None]) -> GeneratorWorker:
    """Compute thumbnails one by one in a worker.

    ``on_thumb(kind, (key, array))`` must be a bound slot of a QObject; it is reached through a
    parentless relay, so a thumbnail finished after that object was destroyed goes nowhere.
    """
    from superqt.utils import create_worker

    from .bridge import Relay

    relay = Relay()
    relay.fired.connect(on_thumb)  # a QObject's bound slot: Qt disconnects it when that object dies
    worker = create_worker(
        _thumbnails, jobs, _start_thread=False,
        _connect={"yielded": lambda kv: relay.fired.emit("thumb", kv),
                  "errored": lambda e: log.warning("thumbnails: %s", e)},
    )
    worker._medeid_relay = relay  # keep it alive as long as the worker
    worker.start()
    return worker
