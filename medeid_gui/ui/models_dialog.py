"""Settings > Privacy Models…: the installed pixel models, and moving one between workstations.

Why a dialog of its own: which weights change patient images is a site decision the user must be
able to see (domain, what it was trained on, licence, measured evaluation, sha256 identity) and
act on — export a site model for another workstation, import one. Import goes through
``ml.model_registry.import_model``, which verifies every byte against the manifest; a tampered or
incomplete archive is refused, and the refusal is shown with the registry's reason, not a
traceback.
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from .errors import show_error

if TYPE_CHECKING:
    from medeid_gui.ml.model_registry import InstalledModel

COLUMNS = ("Model", "Domain", "Training data", "Licence", "Evaluation", "sha256")
ARCHIVE_FILTER = "medeid model (*.zip);;All files (*)"


def model_row(m: InstalledModel) -> tuple[str, str, str, str, str, str]:
    """One model as one line of the table, in full (cells elide; tooltips and details do not)."""
    where = "shipped" if m.shipped else "site"
    return (f"{m.name} ({where})", m.domain.name, m.domain.trained_on or "not stated", m.licence,
            m.evaluation, m.digest)


def model_details(m: InstalledModel) -> str:
    """The selected model's facts unabridged, one per line, below the table."""
    return "\n".join(f"{k}: {v}" for k, v in zip(COLUMNS, model_row(m), strict=True)) + f"\nfolder: {m.folder}"


class ModelsDialog(QDialog):
    """``modelsChanged`` after a model was imported (the engine may pick models anew)."""

    modelsChanged = Signal()

    def __init__(self, parent: QWidget | None = None, *, user_dir: Path | None = None,
                 shipped_dir: Path | None = None) -> None:
        """``user_dir`` / ``shipped_dir``: the registry's folders (None: the usual ones)."""
        super().__init__(parent)
        self.setObjectName("modelsDialog")
        self.setWindowTitle("Privacy models")
        self.user_dir = user_dir
        self.shipped_dir = shipped_dir
        self.models: list[InstalledModel] = []
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("modelsTable")
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.setWordWrap(False)
        hh = self.table.horizontalHeader()
        hh.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        hh.setStretchLastSection(True)
        for c, w in enumerate((200, 160, 190, 170, 220)):
            self.table.setColumnWidth(c, w)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.details = QLabel("")
        self.details.setObjectName("modelsDetails")
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.problems = QLabel("")
        self.problems.setObjectName("modelsProblems")
        self.problems.setWordWrap(True)
        self.status = QLabel("")
        self.status.setObjectName("modelsStatus")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.export_button = QPushButton("Export…")
        self.export_button.setObjectName("modelsExport")
        self.export_button.setToolTip("Write the selected model (manifest, weights, cards) as one archive")
        self.export_button.clicked.connect(self._export_clicked)
        self.import_button = QPushButton("Import…")
        self.import_button.setObjectName("modelsImport")
        self.import_button.setToolTip("Install a model archive; every file is checked against its sha256")
        self.import_button.clicked.connect(self._import_clicked)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.addButton(self.export_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.import_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel("Models that may change pixels, each only for images of its domain; "
                             "a site's model is preferred over the shipped one."))
        lay.addWidget(self.table, 1)
        lay.addWidget(self.details)
        lay.addWidget(self.problems)
        lay.addWidget(self.status)
        lay.addWidget(buttons)
        self.resize(1100, 440)
        self.refresh()

    # -- listing ----------------------------------------------------------------------------
    def refresh(self) -> None:
        """Read the registry again (nothing is loaded into torch)."""
        from medeid_gui.ml.model_registry import scan_models

        self.models, problems = scan_models(shipped_dir=self.shipped_dir, user_dir=self.user_dir)
        self.table.setRowCount(len(self.models))
        for r, m in enumerate(self.models):
            for c, text in enumerate(model_row(m)):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                self.table.setItem(r, c, item)
        if self.models:
            self.table.selectRow(0)
        else:
            self.problems.setText("No pixel privacy model is installed: pixels are exported unchanged.")
        if problems:
            self.problems.setText("Not usable: " + "; ".join(f"{f}: {why}" for f, why in problems))
        elif self.models:
            self.problems.setText("")
        self._selection_changed()

    def selected(self) -> InstalledModel | None:
        rows = self.table.selectionModel().selectedRows()
        return self.models[rows[0].row()] if rows else None

    def _selection_changed(self) -> None:
        m = self.selected()
        self.export_button.setEnabled(m is not None)
        self.details.setText(model_details(m) if m is not None else "")

    # -- export / import ----------------------------------------------------------------------
    def _export_clicked(self) -> None:
        m = self.selected()
        if m is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export model", f"{m.name}-{m.digest[:12]}.zip",
                                              ARCHIVE_FILTER)
        if path:
            self.export_to(Path(path))

    def _import_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import model", "", ARCHIVE_FILTER)
        if path:
            self.import_from(Path(path))

    def export_to(self, archive: Path) -> bool:
        """Export the selected model; False (and the reason shown) when it cannot be."""
        from medeid_gui.ml.model_registry import ModelImportError, export_model
        from medeid_gui.ml.weights import WeightsError

        m = self.selected()
        if m is None:
            return False
        try:
            export_model(m.folder, archive)
        except (ModelImportError, WeightsError, OSError) as exc:
            self._refused("Model not exported", f"{m.name} cannot be exported: {exc}")
            return False
        self.status.setText(f"Exported {m.name} (sha256 {m.digest[:12]}…) to {archive}")
        return True

    def import_from(self, archive: Path) -> InstalledModel | None:
        """Verify and install ``archive``; None (and the refusal shown) when it is not accepted."""
        from medeid_gui.ml.model_registry import ModelImportError, import_model
        from medeid_gui.ml.weights import WeightsError

        try:
            model = import_model(archive, user_dir=self.user_dir)
        except (ModelImportError, WeightsError, zipfile.BadZipFile, zlib.error, OSError) as exc:
            self._refused("Model refused", f"The model in {archive.name} was not installed.\n\n{exc}")
            return None
        self.refresh()
        for r, m in enumerate(self.models):
            if m.folder == model.folder:
                self.table.selectRow(r)
        self.status.setText(f"Installed {model.name} for {model.domain.name} (sha256 {model.digest[:12]}…)")
        self.modelsChanged.emit()
        return model

    def _refused(self, title: str, message: str) -> None:
        self.status.setText(message.replace("\n\n", " "))
        show_error(self, title, message)
