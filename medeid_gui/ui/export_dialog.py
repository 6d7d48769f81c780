"""Export dialog: destination, format, profile/options, privacy, burned-in text → ``run_export``.

Why it calls exactly ``export.pipeline.run_export``: the command line runs the same function, so
what the GUI writes is what a scripted batch would write (same manifest, ledger, resume rules).
The run happens in a worker thread; progress events cross to the main thread as queued signals
and the Cancel button sets a flag the pipeline polls between files.

Several opened items (e.g. the demo: a folder plus sample files) are exported one run each, into
one sub-folder per item, because a run has exactly one input (the pipeline's contract).
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from medeid_gui.ml.privacy import Privacy, check_privacy, check_series_privacy, to_percent

from .bridge import RelayedJob
from .errors import show_error
from .options_editor import OptionsEditor
from .settings import Settings

if TYPE_CHECKING:  # the export stack loads when an export starts, not with the window
    from superqt.utils import FunctionWorker

    from medeid_gui.export.pipeline import ExportConfig, ExportSummary
    from medeid_gui.export.progress import ProgressEvent

log = logging.getLogger("medeid.ui")


@dataclass
class ExportOutcome:
    """The summaries of all runs of one export (one per opened item)."""

    runs: list[tuple[Path, Path, ExportSummary]] = field(default_factory=list)  # (input, output, summary)
    cancelled: bool = False
    seconds: float = 0.0

    def total(self, name: str) -> int:
        """The sum of one of the summaries' counters (``exported``, ``skipped``, ...)."""
        return sum(int(getattr(s, name)) for _i, _o, s in self.runs)

    def failures(self) -> list[tuple[str, str]]:
        return [f for _i, _o, s in self.runs for f in s.failures]


def plan_runs(inputs: list[Path], output: Path) -> list[tuple[Path, Path]]:
    """One (input, output) pair per opened item; sub-folders when there are several."""
    if len(inputs) == 1:
        return [(inputs[0], output)]
    seen: set[str] = set()
    out = []
    for i, p in enumerate(inputs, 1):
        name = p.stem if p.is_file() else p.name
        name = f"{i:02d}-{name or 'input'}"
        while name in seen:
            name += "_"
        seen.add(name)
        out.append((p, output / name))
    return out


def _run_exports(configs: list[ExportConfig], cancel_flag: threading.Event,
                 report: Callable[[tuple[ProgressEvent, int, int]], None]) -> ExportOutcome:
    """The export runs, one after the other (worker thread; ``report((event, run, runs))``)."""
    from medeid_gui.export.pipeline import run_export
    from medeid_gui.viewmodel.project_key import project_key

    t0 = time.perf_counter()
    for cfg in configs:  # the key file exists, complete, before run_export reads it
        project_key(str(cfg.key_file) if cfg.key_file else None)
    outcome = ExportOutcome()
    n = len(configs)
    for k, cfg in enumerate(configs):
        if cancel_flag.is_set():
            outcome.cancelled = True
            break
        last_time, last_phase = [0.0], [""]  # of the last event forwarded

        def progress(
            ev: ProgressEvent, k: int = k, last_time: list[float] = last_time, last_phase: list[str] = last_phase
        ) -> None:
            # at most ~20 events/s reach the GUI, but never drop a phase change (a fast export
            # would otherwise jump from "scan" straight to "done") nor the end of a phase
            now = time.perf_counter()
            end_of_phase = bool(ev.total) and ev.done >= ev.total
            if ev.phase != last_phase[0] or end_of_phase or ev.phase == "done" or now - last_time[0] >= 0.05:
                last_time[0], last_phase[0] = now, ev.phase
                report((ev, k, n))

        summary = run_export(cfg, progress=progress, cancel=cancel_flag.is_set)
        outcome.runs.append((Path(cfg.input), Path(cfg.output), summary))
        if summary.cancelled:
            outcome.cancelled = True
            break
    outcome.seconds = time.perf_counter() - t0
    return outcome


class ExportJob(RelayedJob):
    """Runs the export runs sequentially in a worker; Qt signals carry progress to the dialog."""

    progress = Signal(object, int, int)  # ProgressEvent, run index, number of runs
    finished = Signal(object)  # ExportOutcome
    failed = Signal(str, str)

    def __init__(self, configs: list[ExportConfig], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.configs = configs
        self.cancel_flag = threading.Event()
        self.worker: FunctionWorker | None = None

    def start(self) -> None:
        self.worker = self._start_worker(_run_exports, self.configs, self.cancel_flag)

    def cancel(self) -> None:
        self.cancel_flag.set()

    def _on_error(self, exc: Exception) -> None:
        self.failed.emit(f"{type(exc).__name__}: {exc}", "".join(traceback.format_exception(exc)))


class ExportDialog(QDialog):
    """``exportFinished(outcome)`` when a run ends (done, cancelled or partly failed)."""

    exportFinished = Signal(object)
    exportStarted = Signal()

    def __init__(
        self,
        parent: QWidget | None,
        *,
        inputs: list[Path],
        settings: Settings,
        options_from: OptionsEditor | None = None,
        privacy: Privacy = 0.0,
        rectangles: list[tuple[int, int, int, int]] | None = None,
        series_privacy: dict[str, Privacy] | None = None,
    ) -> None:
        """``privacy``: the viewer's level, the default for every image; ``series_privacy``: the
        levels set on single series in the viewer (original SeriesInstanceUID -> level)."""
        super().__init__(parent)
        self.setObjectName("exportDialog")
        self.setWindowTitle("Export de-identified copies")
        self.setModal(False)
        self.inputs = [Path(p) for p in inputs]
        self.settings = settings
        self.rectangles = list(rectangles or [])
        self.job: ExportJob | None = None
        self.outcome: ExportOutcome | None = None
        self._t0 = 0.0
        # levels the user set on individual series in the viewer (original SeriesInstanceUID -> level)
        self.series_privacy = check_series_privacy(series_privacy)
        form = self._build_form(check_privacy(privacy), options_from)
        prof = QGroupBox("Header profile and options")
        pl = QVBoxLayout(prof)
        pl.addWidget(self.editor)
        self._build_progress()
        self._build_buttons()
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(prof)
        lay.addWidget(self.bar)
        lay.addWidget(self.status)
        lay.addWidget(self.summary, 1)
        lay.addWidget(self.buttons)
        self.resize(640, 620)

    # -- set-up -----------------------------------------------------------------------------
    def _build_form(self, privacy: Privacy, options_from: OptionsEditor | None) -> QFormLayout:
        """What is exported, where, in which format, at which privacy level."""
        from medeid_gui.export.pipeline import FORMATS

        self.inputs_label = QLabel("\n".join(str(p) for p in self.inputs) or "(nothing opened)")
        self.inputs_label.setWordWrap(True)
        self.inputs_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.dest = QLineEdit(self._suggest_destination())
        self.dest.setObjectName("exportDestination")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        drow = QHBoxLayout()
        drow.addWidget(self.dest, 1)
        drow.addWidget(browse)
        self.fmt = QComboBox()
        self.fmt.setObjectName("exportFormat")
        self.fmt.addItems(list(FORMATS))
        self.dicomdir = QCheckBox("write a DICOMDIR")
        self.fmt.currentTextChanged.connect(lambda f: self.dicomdir.setEnabled(f == "dicom"))
        self.editor = OptionsEditor(self.settings.profile, set(self.settings.options))
        if options_from is not None and not options_from.error:
            self.editor.set_from(options_from)
        self._build_privacy(privacy)
        self.burned = QComboBox()
        self.burned.setObjectName("exportBurnedIn")
        self.burned.addItems(["auto", "all", "off"])
        self.burned.setToolTip(
            "auto: detect burned-in text (OCR) and blank what matches the header's PHI; "
            "all: blank every detected text; off: leave text"
        )
        self.rect_label = QLabel(self._rect_text())
        self.rect_label.setWordWrap(True)
        self.workers = QSpinBox()
        self.workers.setRange(0, 64)
        self.workers.setSpecialValueText("automatic")
        form = QFormLayout()
        form.addRow("Opened", self.inputs_label)
        form.addRow("Destination", drow)
        form.addRow("Format", self.fmt)
        form.addRow("", self.dicomdir)
        form.addRow("Privacy level", self.privacy)
        form.addRow("", self.per_series)
        form.addRow("Burned-in text", self.burned)
        form.addRow("Your rectangles", self.rect_label)
        form.addRow("Worker processes", self.workers)
        return form

    def _build_privacy(self, privacy: Privacy) -> None:
        """The level for every image, and whether the levels set per series in the viewer apply."""
        self.privacy = QDoubleSpinBox()
        self.privacy.setObjectName("exportPrivacy")
        self.privacy.setRange(0.0, 100.0)
        self.privacy.setDecimals(0)
        self.privacy.setSuffix(" %")
        self.privacy.setValue(to_percent(privacy))
        self.privacy.setToolTip("Pixel privacy level for every image of this export (the viewer's current level)")
        self.per_series = QCheckBox(
            f"use the level set on each series in the viewer ({len(self.series_privacy)} series); "
            "other series use the level above"
        )
        self.per_series.setObjectName("exportPerSeries")
        self.per_series.setEnabled(bool(self.series_privacy))
        self.per_series.setToolTip(
            "Each series you looked at keeps the privacy level the slider had when you last moved it on that series"
            if self.series_privacy
            else "Move the privacy slider on a series to give it its own level"
        )

    def _build_progress(self) -> None:
        self.bar = QProgressBar()
        self.bar.setObjectName("exportProgress")
        self.bar.setRange(0, 1)
        self.bar.setValue(0)
        self.status = QLabel("")
        self.status.setObjectName("exportStatus")
        self.summary = QPlainTextEdit()
        self.summary.setObjectName("exportSummary")
        self.summary.setReadOnly(True)
        self.summary.setVisible(False)
        self.summary.setMinimumHeight(140)

    def _build_buttons(self) -> None:
        self.buttons = QDialogButtonBox()
        self.start_btn = self.buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.start_btn.setObjectName("exportStart")
        self.cancel_btn = self.buttons.addButton("Cancel", QDialogButtonBox.ButtonRole.RejectRole)
        self.cancel_btn.setObjectName("exportCancel")
        self.open_btn = self.buttons.addButton("Open folder", QDialogButtonBox.ButtonRole.ActionRole)
        self.open_btn.setObjectName("exportOpenFolder")
        self.open_btn.setEnabled(False)
        self.start_btn.clicked.connect(self.start)
        self.cancel_btn.clicked.connect(self._cancel_or_close)
        self.open_btn.clicked.connect(self.open_folder)
        self.start_btn.setEnabled(bool(self.inputs) and not self.editor.error)
        if self.editor.error:
            self.start_btn.setToolTip(self.editor.error)

    def _suggest_destination(self) -> str:
        base = Path(self.settings.last_export_dir)
        stamp = time.strftime("%Y%m%d-%H%M")
        cand = base / f"medeid-export-{stamp}"
        k = 2
        while cand.exists():
            cand = base / f"medeid-export-{stamp}-{k}"
            k += 1
        return str(cand)

    def _browse(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Export into", str(Path(self.dest.text()).parent))
        if d:
            self.dest.setText(d)

    def _rect_text(self) -> str:
        n = len(self.rectangles)
        if not n:
            return "none (draw them in the Burned-in text tab)"
        return f"{n} rectangle(s), blanked in every frame of every exported image"

    def configs(self) -> list[ExportConfig]:
        """The ``ExportConfig`` of each run, from the dialog's current values."""
        from medeid_gui.export.pipeline import ExportConfig

        deid = self.editor.config()
        out = Path(self.dest.text()).expanduser()
        return [
            ExportConfig(
                input=i,
                output=o,
                deid=deid,
                workers=self.workers.value() or None,
                fmt=self.fmt.currentText(),
                dicomdir=self.dicomdir.isChecked() and self.fmt.currentText() == "dicom",
                privacy=self.privacy.value() / 100.0,  # the spin box's unit is the percent
                burned_in=self.burned.currentText(),
                rectangles=list(self.rectangles) or None,
                privacy_by_series=dict(self.series_privacy) if self.per_series.isChecked() else None,
            )
            for i, o in plan_runs(self.inputs, out)
        ]

    # -- running ----------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.job is not None

    def start(self) -> ExportJob | None:
        if self.running:
            return self.job
        if not self.dest.text().strip():
            show_error(self, "No destination", "Choose a folder to export into.")
            return None
        try:
            configs = self.configs()
        except Exception as exc:  # noqa: BLE001 - bad settings are shown, not raised
            show_error(self, "Cannot export", str(exc), exc)
            return None
        self.settings.last_export_dir = str(Path(self.dest.text()).expanduser().parent)
        self.job = ExportJob(configs, self)
        self.job.progress.connect(self._on_progress)
        self.job.finished.connect(self._on_finished)
        self.job.failed.connect(self._on_failed)
        self._t0 = time.perf_counter()
        self.bar.setRange(0, 0)
        self.status.setText("starting…")
        self.summary.setVisible(False)
        self.open_btn.setEnabled(False)
        self.start_btn.setEnabled(False)
        self.cancel_btn.setText("Cancel")
        log.info("export started: %s", [(str(c.input), str(c.output)) for c in configs])
        self.job.start()
        self.exportStarted.emit()
        return self.job

    def _on_progress(self, ev: ProgressEvent, k: int, n: int) -> None:
        run = f"item {k + 1}/{n}: " if n > 1 else ""
        if ev.phase == "scan":
            self.bar.setRange(0, 0)
            self.status.setText(f"{run}scanning… {ev.done} files")
            return
        if ev.phase in ("export", "finalize") and ev.total:
            self.bar.setRange(0, ev.total)
            self.bar.setValue(ev.done)
            elapsed = time.perf_counter() - self._t0
            left = ""
            if ev.done and ev.phase == "export":
                rest = elapsed / ev.done * (ev.total - ev.done)
                left = f", about {int(rest // 60)}:{int(rest % 60):02d} left"
            failed = f", {ev.failed} failed" if ev.failed else ""
            self.status.setText(f"{run}{ev.phase}: {ev.done} / {ev.total} files{failed}{left}")
        elif ev.phase == "done":
            self.status.setText(f"{run}done")

    def _cancel_or_close(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self.status.setText("cancelling… (the file in progress is finished first)")
            self.cancel_btn.setEnabled(False)
        else:
            self.close()

    def cancel(self) -> None:
        self._cancel_or_close()

    def _on_failed(self, message: str, details: str) -> None:
        self.job = None
        self.bar.setRange(0, 1)
        self.bar.setValue(0)
        self.start_btn.setEnabled(True)
        self.cancel_btn.setEnabled(True)
        self.cancel_btn.setText("Close")
        self.status.setText(f"export failed: {message}")
        show_error(self, "Export failed", message, details)
        self.exportFinished.emit(None)

    def _on_finished(self, outcome: ExportOutcome) -> None:
        self.job = None
        self.outcome = outcome
        self.bar.setRange(0, 1)
        self.bar.setValue(1)
        self.cancel_btn.setEnabled(True)
        self.cancel_btn.setText("Close")
        self.start_btn.setEnabled(False)
        self.open_btn.setEnabled(any(o.exists() for _i, o, _s in outcome.runs))
        lines = [
            ("Cancelled — " if outcome.cancelled else "Finished — ")
            + f"{outcome.total('exported')} exported, {outcome.total('skipped')} skipped, "
            f"{outcome.total('failed')} failed, {outcome.total('quarantined')} quarantined "
            f"in {outcome.seconds:.1f} s"
        ]
        for i, o, s in outcome.runs:
            lines.append(f"\n{i}\n  → {o}")
            if s.resumed:
                lines.append(f"  {s.resumed} already exported by an earlier run")
            if s.manifest_path:
                lines.append(f"  manifest: {s.manifest_path}")
            for note in s.notes:
                lines.append(f"  note: {note}")
        fails = outcome.failures()
        if fails:
            lines.append("\nFailures:")
            lines.extend(f"  {p}: {why}" for p, why in fails[:500])
        self.status.setText(lines[0])
        self.summary.setPlainText("\n".join(lines))
        self.summary.setVisible(True)
        log.info("export finished: %s", lines[0])
        self.exportFinished.emit(outcome)

    def output_folder(self) -> Path:
        return Path(self.dest.text()).expanduser()

    def open_folder(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.output_folder())))

    def closeEvent(self, ev) -> None:
        if self.job is not None:
            self.job.cancel()
        super().closeEvent(ev)
