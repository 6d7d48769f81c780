"""Opening studies in the main window: file dialogs, recent items, drag and drop, the scan.

Why a mixin of the window: these handlers only wire widgets (dialogs, status bar, browser) to
the background scan; they share the window's widgets, so they live on it, but in their own module
to keep the window's file about layout and the viewer.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QFileDialog, QMainWindow

from medeid_gui.viewmodel.demo import demo_paths

from .errors import show_error
from .scan import ScanJob, ScanResult, start_thumbnails

if TYPE_CHECKING:
    from PySide6.QtGui import QAction
    from PySide6.QtWidgets import QMenu, QProgressBar, QPushButton
    from superqt.utils import GeneratorWorker

    from medeid_gui.viewmodel.state import ViewerModel

    from .browser import StudyBrowser
    from .settings import Settings

log = logging.getLogger("medeid.ui")


class OpeningMixin(QMainWindow):
    """File → Open…, Open Recent, drops, and the scan's progress, cancel and result."""

    settings: Settings
    model: ViewerModel
    browser: StudyBrowser
    recent_menu: QMenu
    act_export: QAction
    scan_bar: QProgressBar
    scan_cancel: QPushButton
    _scan: ScanJob | None
    _thumb_worker: GeneratorWorker | None

    def open_folder_dialog(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Open folder", self.settings.last_open_dir)
        if d:
            self.open_paths([Path(d)])

    def open_dicomdir_dialog(self) -> None:
        f, _ = QFileDialog.getOpenFileName(self, "Open DICOMDIR", self.settings.last_open_dir,
                                           "DICOMDIR (DICOMDIR*);;All files (*)")
        if f:
            self.open_paths([Path(f)])

    def open_files_dialog(self) -> None:
        fs, _ = QFileDialog.getOpenFileNames(self, "Open DICOM files", self.settings.last_open_dir,
                                             "DICOM (*.dcm *.DCM *.dicom);;All files (*)")
        if fs:
            self.open_paths([Path(f) for f in fs])

    def open_demo(self) -> None:
        paths = demo_paths()
        if not paths:
            show_error(self, "No demo data", "Neither resources/demo nor pydicom's sample files were found.")
            return
        self.open_paths(paths, remember=False)

    def refresh_recent(self) -> None:
        self.recent_menu.clear()
        items = self.settings.recent()
        for p in items:
            a = self.recent_menu.addAction(p)
            a.triggered.connect(lambda _=False, p=p: self.open_paths([Path(x) for x in p.split(" | ")]))
        if items:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear", lambda: (self.settings.clear_recent(), self.refresh_recent()))
        self.recent_menu.setEnabled(bool(items))

    def open_paths(self, paths: list[Path], *, remember: bool = True) -> ScanJob | None:
        """Scan ``paths`` in the background and show what was found."""
        paths = [Path(p) for p in paths]
        missing = [p for p in paths if not p.exists()]
        if missing:
            show_error(self, "Cannot open", "These paths do not exist:\n" + "\n".join(map(str, missing)))
            paths = [p for p in paths if p.exists()]
            if not paths:
                return None
        self.cancel_scan()
        if remember:
            first = paths[0]
            self.settings.last_open_dir = str(first if first.is_dir() else first.parent)
            self.settings.add_recent(" | ".join(str(p) for p in paths))
            self.refresh_recent()
        job = ScanJob(paths, self)
        job.progress.connect(self._on_scan_progress)
        job.finished.connect(self._on_scan_finished)
        job.failed.connect(self._on_scan_failed)
        job.cancelled.connect(self._on_scan_cancelled)
        self._scan = job
        self.scan_bar.setRange(0, 0)
        self.scan_bar.setVisible(True)
        self.scan_cancel.setVisible(True)
        self.statusBar().showMessage(f"Scanning {', '.join(p.name or str(p) for p in paths)[:120]} …")
        log.info("scanning %s", paths)
        job.start()
        return job

    def cancel_scan(self) -> None:
        if self._scan is not None:
            self._scan.cancel()

    def _end_scan_ui(self) -> None:
        self._scan = None
        self.scan_bar.setVisible(False)
        self.scan_cancel.setVisible(False)

    def _on_scan_progress(self, done: int, total: int, text: str) -> None:
        if total:
            self.scan_bar.setRange(0, total)
            self.scan_bar.setValue(done)
        self.statusBar().showMessage(f"Scanning… {done} files examined")

    def _on_scan_cancelled(self) -> None:
        self._end_scan_ui()
        self.statusBar().showMessage("Scan cancelled", 5000)

    def _on_scan_failed(self, message: str, details: str) -> None:
        self._end_scan_ui()
        show_error(self, "Scan failed", message, details)

    def _on_scan_finished(self, result: ScanResult) -> None:
        self._end_scan_ui()
        self.model.set_inputs(result.paths)
        jobs = self.browser.populate(result.patients)
        self.stop_thumbnails()
        self._thumb_worker = start_thumbnails(jobs, self.browser.on_thumbnail) if jobs else None
        msg = f"{result.n_instances} images in {len(jobs)} series ({result.seconds:.1f} s)"
        if result.rejected:
            msg += f"; {len(result.rejected)} files skipped"
        self.statusBar().showMessage(msg, 15000)
        self.act_export.setEnabled(result.n_instances > 0)
        self._report_unreadable(result)
        self.browser.select_first_series()
        self.scanFinished.emit(result)

    def _report_unreadable(self, result: ScanResult) -> None:
        if result.n_instances == 0:
            details = "\n".join(f"{r.path}: {r.reason}" for r in result.rejected[:200])
            show_error(self, "No DICOM images found",
                       "Nothing that could be opened was found in:\n" + "\n".join(map(str, result.paths)),
                       details or None)
        elif result.rejected and all(p.is_file() for p in result.paths):
            # the user picked these files explicitly: say which ones were not usable
            show_error(
                self,
                "Some files could not be opened",
                f"{len(result.rejected)} of the chosen files are not readable DICOM.",
                "\n".join(f"{r.path}: {r.reason}" for r in result.rejected),
            )

    def stop_thumbnails(self) -> None:
        if self._thumb_worker is not None:
            try:
                self._thumb_worker.quit()
            except Exception:  # noqa: BLE001 - already finished, or its C++ object is gone
                pass

    # -- drag and drop --------------------------------------------------------------------
    def dragEnterEvent(self, ev: QDragEnterEvent) -> None:
        if ev.mimeData().hasUrls() and any(u.isLocalFile() for u in ev.mimeData().urls()):
            ev.acceptProposedAction()
        else:
            ev.ignore()

    def dropEvent(self, ev: QDropEvent) -> None:
        paths = [Path(u.toLocalFile()) for u in ev.mimeData().urls() if u.isLocalFile()]
        if paths:
            ev.acceptProposedAction()
            self.open_paths(paths)
