"""Privacy > Train a privacy model on a folder…: plan, train in a separate process, install, report.

Why a separate process (a ``QProcess`` running this app's own CLI, ``viewmodel.train_run``): the
training runs for minutes to hours; in the window's process it would load torch's training stack
beside the viewer and a crash or a cancel would take the window down.  The child prints JSON
progress lines; this dialog only shows them.  The plan (domains found and skipped with the reason,
the estimate) is the same command's dry run, also in a child process, so the GUI thread never
reads an archive's headers.  Cancel kills the child; Start again resumes from the training's
checkpoints.  The CLI installs each model into the user models folder; the dialog then shows
its report and emits ``modelsInstalled`` so the window picks models anew.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QProcess, QProcessEnvironment, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from medeid_gui.viewmodel.train_run import (
    TrainOptions,
    TrainPlan,
    TrainRun,
    cli_environment,
    model_report,
    time_left,
    train_command,
    why_no_plan,
)

__all__ = ["TrainDialog"]

BAR_RANGE = 1000


class TrainDialog(QDialog):
    """``planReady(TrainPlan)`` after the dry run; ``trainingFinished(rc)`` when the child ends;
    ``modelsInstalled(list[str])`` with the model folders it wrote."""

    planReady = Signal(object)
    trainingFinished = Signal(int)
    modelsInstalled = Signal(list)

    def __init__(self, parent: QWidget | None = None, *, options: TrainOptions | None = None) -> None:
        """``options``: what is passed to ``medeid ml train`` besides the folder (tests: tiny steps)."""
        super().__init__(parent)
        self.setObjectName("trainDialog")
        self.setWindowTitle("Train a privacy model on a folder")
        self.options = options or TrainOptions()
        self.folder: Path | None = None
        self.plan: TrainPlan | None = None
        self.run: TrainRun | None = None
        self._proc: QProcess | None = None
        self._dry = False
        self._cancelled = False
        self._stderr: list[str] = []  #: the child's stderr lines (its errors)
        self._t0 = 0.0  #: when the child was started (monotonic), for the time left
        self._build()
        self.resize(860, 640)

    def _build(self) -> None:
        self.folder_edit = QLineEdit()
        self.folder_edit.setReadOnly(True)
        self.folder_edit.setPlaceholderText("a folder of DICOM files: a site's archive, or an export of it")
        browse = QPushButton("Choose Folder…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.folder_edit, 1)
        row.addWidget(browse)
        self.labels_edit = QLineEdit()
        self.labels_edit.setReadOnly(True)
        self.labels_edit.setObjectName("trainLabels")
        self.labels_edit.setPlaceholderText(
            "optional: a labels CSV (lung masks, severity scores, findings) — the fill learns to keep them")
        self.labels_edit.setToolTip(
            "The CSV that medeid import-images read (columns patientid, license, finding, lung_mask, "
            "severity_geographic, severity_opacity). Its licences go into the model's card; its lung "
            "masks, severity scores and findings train small task networks whose reading of each "
            "de-identified training image the fill is trained to keep.")
        pick = QPushButton("Choose Labels…")
        pick.clicked.connect(self._browse_labels)
        clear = QPushButton("No Labels")
        clear.clicked.connect(lambda: self.set_labels(None))
        labels_row = QHBoxLayout()
        labels_row.addWidget(self.labels_edit, 1)
        labels_row.addWidget(pick)
        labels_row.addWidget(clear)
        self.domains = QListWidget()
        self.domains.setObjectName("trainDomains")
        self.domains.setWordWrap(True)  # reasons are long: shown whole, not cut at the edge
        self.summary = QLabel("Choose a folder: its domains (modality, body part, view) are listed "
                              "with what can be trained and how long it takes.")
        self.summary.setWordWrap(True)
        self.summary.setObjectName("trainSummary")
        self.bar = QProgressBar()
        self.bar.setRange(0, BAR_RANGE)
        self.bar.setValue(0)
        self.status = QLabel("")
        self.status.setObjectName("trainStatus")
        self.status.setWordWrap(True)
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(2000)
        self.log.setMaximumHeight(110)
        self.report = QTextBrowser()
        self.report.setObjectName("trainReport")
        self.start_button = QPushButton("Start")
        self.start_button.setEnabled(False)
        self.start_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for b in (self.start_button, self.cancel_button, close):
            buttons.addWidget(b)
        lay = QVBoxLayout(self)
        lay.addLayout(row)
        lay.addLayout(labels_row)
        lay.addWidget(QLabel("Domains found (one model is trained per domain with enough patients "
                             "imaged on two or more days; PatientID is the identity label):"))
        lay.addWidget(self.domains, 2)
        lay.addWidget(self.summary)
        lay.addWidget(self.bar)
        lay.addWidget(self.status)
        lay.addWidget(self.log, 1)
        lay.addWidget(self.report, 2)
        lay.addLayout(buttons)

    # -- the plan -----------------------------------------------------------------------------
    def _browse(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Folder to train on")
        if path:
            self.set_folder(Path(path))

    def _browse_labels(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Labels of the folder's images", "",
                                              "CSV files (*.csv);;All files (*)")
        if path:
            self.set_labels(Path(path))

    def set_labels(self, csv_path: Path | None) -> None:
        """Train with this labels CSV (None: without); takes effect at the next Start."""
        if self.running:
            return
        self.options = replace(self.options, labels=str(csv_path) if csv_path else None)
        self.labels_edit.setText(str(csv_path) if csv_path else "")

    def set_folder(self, folder: Path) -> None:
        """Show ``folder`` and compute its plan (a dry run in a child process)."""
        if self.running:
            return
        self.folder = Path(folder)
        self.folder_edit.setText(str(self.folder))
        self.plan = None
        self.domains.clear()
        self.report.clear()
        self.start_button.setEnabled(False)
        self.summary.setText("Reading the folder's headers…")
        self._launch(dry_run=True)

    def _show_plan(self, plan: TrainPlan) -> None:
        self.plan = plan
        self.domains.clear()
        for d in plan.domains:
            self.domains.addItem(d.line)
            self.domains.item(self.domains.count() - 1).setToolTip(d.line)
        for path, why in plan.bad:
            self.domains.addItem(f"unreadable  {Path(path).name} — {why}")
        self.summary.setText(plan.summary)
        self.start_button.setEnabled(bool(plan.trainable))
        self.planReady.emit(plan)

    # -- the training -------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.state() != QProcess.ProcessState.NotRunning

    def start(self) -> None:
        """Train (or resume) every trainable domain of the folder in a child process."""
        if self.folder is None or self.running:
            return
        self.report.clear()
        self.status.setText("starting (loading the training libraries)…")
        self.start_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self._launch(dry_run=False)

    def cancel(self) -> None:
        """Kill the child; what was trained stays in its checkpoints, and Start resumes there."""
        if not self.running or self._proc is None:
            return
        self._cancelled = True
        self._proc.kill()

    def _launch(self, *, dry_run: bool) -> None:
        assert self.folder is not None
        cmd = train_command(self.folder, self.options, dry_run=dry_run)
        proc = QProcess(self)
        env = QProcessEnvironment()
        for k, v in cli_environment(_system_env()).items():
            env.insert(k, v)
        proc.setProcessEnvironment(env)
        proc.readyReadStandardOutput.connect(self._read_stdout)
        proc.readyReadStandardError.connect(self._read_stderr)
        proc.finished.connect(self._finished)
        proc.errorOccurred.connect(self._error)
        self._proc, self._dry, self._cancelled = proc, dry_run, False
        self._stderr = []
        self._t0 = time.monotonic()
        self.run = TrainRun()
        self.bar.setValue(0)
        proc.start(cmd[0], cmd[1:])

    def _read_stdout(self) -> None:
        if self._proc is None or self.run is None:
            return
        text = bytes(self._proc.readAllStandardOutput().data()).decode("utf-8", "replace")
        n_log = len(self.run.log)
        events = self.run.feed(text)
        self._apply(events, n_log)

    def _read_stderr(self) -> None:
        if self._proc is None:
            return
        text = bytes(self._proc.readAllStandardError().data()).decode("utf-8", "replace")
        for line in text.splitlines():
            if line.strip():
                self._stderr.append(line)
                self.log.appendPlainText(line)

    def _apply(self, events: list[dict[str, object]], n_log: int) -> None:
        assert self.run is not None
        for line in self.run.log[n_log:]:
            self.log.appendPlainText(line)
        del events  # the run's state holds what they said
        if not self._dry:
            self.bar.setValue(int(round(self.run.fraction * BAR_RANGE)))
            if self.run.status:
                left = time_left(self.run.fraction, time.monotonic() - self._t0)
                self.status.setText(self.run.status + (f" — {left}" if left else ""))

    def _finished(self, code: int, _status: QProcess.ExitStatus) -> None:
        run = self.run
        if run is None:
            return
        n_log = len(run.log)
        self._read_stdout()
        self._apply(run.finish(), n_log)
        self.cancel_button.setEnabled(False)
        if self._dry:  # the plan is shown once the dry run has ended: Start may then run at once
            if run.plan is None:
                self.summary.setText(why_no_plan(code, "\n".join(self._stderr)))
            else:
                self._show_plan(run.plan)
            return
        self.start_button.setEnabled(bool(self.plan and self.plan.trainable))
        if self._cancelled:
            self.status.setText("Cancelled. Start again resumes from the last checkpoint.")
        elif code == 0 and run.models:
            self._installed(run)
        else:
            why = "; ".join(run.failed) or f"the training ended with exit status {code}; see the log"
            self.status.setText(f"No model was trained: {why}")
        self.trainingFinished.emit(-1 if self._cancelled else code)

    def _installed(self, run: TrainRun) -> None:
        self.bar.setValue(BAR_RANGE)
        skipped = "; ".join(f"{k}: {why}" for k, why in run.skipped)
        self.status.setText(f"Installed {len(run.models)} model(s) into the user models folder"
                            + (f". Skipped: {skipped}" if skipped else ""))
        parts = []
        for folder in run.models:
            try:
                parts.append(model_report(folder))
            except Exception as exc:  # noqa: BLE001 - shown: the model was written but cannot be read
                parts.append(f"### {folder}\n\nthe model cannot be read: {exc}")
        self.report.setMarkdown("\n\n---\n\n".join(parts))
        self.modelsInstalled.emit(list(run.models))

    def _error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self.status.setText("The training program could not be started: "
                                f"{self._proc.errorString() if self._proc else error}")
            self.cancel_button.setEnabled(False)
            self.start_button.setEnabled(bool(self.plan and self.plan.trainable))

    def closeEvent(self, ev: QCloseEvent) -> None:
        """Closing the dialog stops a running child (its checkpoints stay: Start resumes)."""
        if self.running and self._proc is not None:
            self._cancelled = True
            self._proc.kill()
            self._proc.waitForFinished(3000)
        super().closeEvent(ev)


def _system_env() -> dict[str, str]:
    """The app's own environment as a mapping (the child inherits it, plus ``cli_environment``)."""
    env = QProcessEnvironment.systemEnvironment()
    return {k: env.value(k) for k in env.keys()}
