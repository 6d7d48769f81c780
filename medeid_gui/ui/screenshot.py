"""Reproducible screenshots: wait until the demo image and its de-identified result are shown.

Why inside the app: a fixed sleep before ``import -window root`` either wastes time or catches
a half-loaded window. The script waits for the window's own signals (scan done, frame shown,
engine result shown or the engine reported unavailable, thumbnails drawn) and then grabs it.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal

if TYPE_CHECKING:
    from medeid_gui.viewmodel.frames import LoadedFrame

    from .engine_adapter import PrivacyResult
    from .main_window import MainWindow
    from .scan import ScanResult

log = logging.getLogger("medeid.ui")


class ScreenshotScript(QObject):
    done = Signal(int)  # exit code

    def __init__(
        self,
        win: MainWindow,
        out: Path,
        *,
        series_index: int = 0,
        modality: str | None = None,
        timeout_s: float = 120.0,
    ) -> None:
        super().__init__(win)
        self.win = win
        self.out = Path(out)
        self.series_index = series_index
        self.modality = modality
        self._frame_ok = False
        self._result_ok = False
        self._engine_settled = False
        self._scheduled = False
        win.scanFinished.connect(self._on_scan)
        win.frameShown.connect(self._on_frame)
        win.resultShown.connect(self._on_result)
        win.engine.unavailable.connect(self._on_unavailable)
        QTimer.singleShot(int(timeout_s * 1000), self._timeout)

    def _on_scan(self, _res: ScanResult) -> None:
        items = self.win.browser.series_items()
        if self.modality:
            items = [it for it in items if it.text(2) == self.modality] or items
            self.series_index = 0
        if items:
            self.win.browser.setCurrentItem(items[min(self.series_index, len(items) - 1)])

    def _on_frame(self, _lf: LoadedFrame) -> None:
        self._frame_ok = True
        if not self.win.model.method.allowed:  # no model for this series: no result will come
            self._engine_settled = True
        self._maybe_grab()

    def _on_result(self, res: PrivacyResult) -> None:
        if abs(res.privacy - self.win.model.privacy) < 1e-6:
            self._result_ok = True
            self._maybe_grab()

    def _on_unavailable(self, *_: str) -> None:
        self._engine_settled = True
        self._maybe_grab()

    def _maybe_grab(self) -> None:
        if self._frame_ok and (self._result_ok or self._engine_settled) and not self._scheduled:
            self._scheduled = True
            QTimer.singleShot(1500, self._grab)  # let thumbnails, OCR boxes and metrics arrive

    def _grab(self) -> None:
        self.out.parent.mkdir(parents=True, exist_ok=True)
        ok = self.win.grab().save(str(self.out))
        log.info("screenshot %s: %s", self.out, "saved" if ok else "FAILED")
        print(f"screenshot={self.out} ok={ok}", flush=True)
        self.done.emit(0 if ok else 1)

    def _timeout(self) -> None:
        log.error("screenshot timed out (frame=%s result=%s)", self._frame_ok, self._result_ok)
        self._grab()
