"""Header panel: what the PS3.15 profile does to the current image's attributes.

Why it calls ``Deidentifier.describe`` rather than showing its own table: the export runs the
same engine, so what the clinician reviews here is exactly what will be written. Profile and
option changes re-run ``describe`` at once (in a background runner; a large header with
sequences can take a moment and typing in the filter must never stutter).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from .bridge import LatestRunner
from .options_editor import OptionsEditor
from .settings import Settings

if TYPE_CHECKING:  # pydicom loads with the first scan, not with the window
    from pydicom.dataset import Dataset

    from medeid_gui.deid.actions import Action
    from medeid_gui.deid.engine import DeidConfig
    from medeid_gui.deid.keys import ProjectKey
    from medeid_gui.deid.options import Option

log = logging.getLogger("medeid.ui")

COLUMNS = ("Tag", "Name", "Action", "Original", "De-identified")
#: item role holding everything a filter may match (tag, keyword, name, path, action, values, reason)
SEARCH_ROLE = Qt.ItemDataRole.UserRole + 10
ACTION_NAMES = {
    "D": "replace with dummy",
    "Z": "empty (or dummy)",
    "X": "remove",
    "K": "keep",
    "C": "clean",
    "U": "replace UID",
    "U*": "keep sequence, replace UIDs",
    "set": "set (de-identification marking)",
}
ACTION_COLORS = {
    "X": QColor(220, 80, 80),
    "D": QColor(230, 150, 60),
    "Z": QColor(230, 190, 60),
    "U": QColor(100, 160, 240),
    "C": QColor(180, 120, 230),
    "K": QColor(110, 190, 110),
}


def _short(v: str | None, n: int = 80) -> str:
    s = "" if v is None else str(v)
    s = s.replace("\n", " ")
    return s if len(s) <= n else s[: n - 1] + "…"


class ActionModel(QAbstractTableModel):
    """Rows are ``deid.actions.Action`` objects."""

    def __init__(self) -> None:
        super().__init__()
        self.actions: list[Action] = []

    def set_actions(self, actions: list[Action]) -> None:
        self.beginResetModel()
        self.actions = list(actions)
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.actions)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> str | None:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> str | QBrush | None:
        if not index.isValid():
            return None
        a = self.actions[index.row()]
        code = a.action or ""
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._cell(a, col)
        if role == SEARCH_ROLE:
            return " ".join(v or "" for v in (a.tag, a.keyword, a.name, a.path, a.action, a.old, a.new,
                                              a.reason))
        if role == Qt.ItemDataRole.ToolTipRole:
            return (
                f"{a.path}  {a.tag}\n{a.name}\n"
                f"action {code} ({ACTION_NAMES.get(code, code)}): {a.reason}\n"
                f"original: {_short(a.old, 400)}\nde-identified: {_short(a.new, 400)}"
            )
        if role == Qt.ItemDataRole.ForegroundRole and col == 2:
            c = ACTION_COLORS.get(code[:1])
            return QBrush(c) if c else None
        return None

    @staticmethod
    def _cell(a: Action, col: int) -> str | None:
        code = a.action or ""
        if col == 0:
            return a.tag
        if col == 1:
            path = a.path or ""
            return path if "." in path or "[" in path else (a.name or a.keyword)
        if col == 2:
            return code
        if col == 3:
            return _short(a.old)
        if col == 4:
            return "(removed)" if code == "X" else _short(a.new)
        return None


class HeaderPanel(QWidget):
    """Profile + options editor and the filtered describe() table for the current image."""

    configChanged = Signal(object)  # deid.engine.DeidConfig
    described = Signal(list)  # list[Action], after each describe run

    def __init__(self, settings: Settings | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("headerPanel")
        self.settings = settings
        self._ds: Dataset | None = None
        self._key: ProjectKey | None = None
        self._deid_error: str = ""
        self.runner = LatestRunner("describe", self)
        self.runner.finished.connect(self._on_described)
        self.runner.failed.connect(self._on_failed)

        self.editor = OptionsEditor(
            settings.profile if settings else "basic",
            set(settings.options) if settings else set(),
            columns=1,
            collapsible=True,
        )
        self.editor.changed.connect(self._changed)
        self.profile = self.editor.profile
        self.filter = QLineEdit()
        self.filter.setObjectName("headerFilter")
        self.filter.setPlaceholderText("Filter: tag, name, action, value…")
        self.filter.setClearButtonEnabled(True)
        # Why optional: the elements the profile does not name are most of a header; the default
        # view shows what changes, this box shows every element's fate (as ``medeid inspect``)
        self.show_kept = QCheckBox("Show kept")
        self.show_kept.setObjectName("headerShowKept")
        self.show_kept.setToolTip("Also list every element kept as it is, with the reason "
                                  "(e.g. \"kept: not in Table E.1-1\"): nothing leaves unseen")
        self.show_kept.toggled.connect(lambda _on: self._describe())
        self.summary = QLabel("")
        self.summary.setWordWrap(True)  # never let a long summary widen the window
        self.summary.setStyleSheet("color: #8a9099;")
        self.model = ActionModel()
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterKeyColumn(0)
        self.proxy.setFilterRole(SEARCH_ROLE)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.filter.textChanged.connect(self._on_filter)
        self.table = QTableView()
        self.table.setObjectName("headerTable")
        self.table.setModel(self.proxy)
        # the engine's order (dataset order) until the user clicks a column header
        self.table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.table.setSortingEnabled(True)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(20)
        self.table.setAlternatingRowColors(True)
        hh = self.table.horizontalHeader()
        hh.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for c in (3, 4):  # the two values share what is left, so both stay in view
            hh.setSectionResizeMode(c, QHeaderView.ResizeMode.Stretch)
        for c, w in enumerate((84, 140, 44)):
            self.table.setColumnWidth(c, w)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.editor)
        frow = QHBoxLayout()
        frow.setContentsMargins(0, 0, 0, 0)
        frow.addWidget(self.filter, 1)
        frow.addWidget(self.show_kept)
        lay.addLayout(frow)
        lay.addWidget(self.table, 1)
        lay.addWidget(self.summary)
        if self.editor.error:
            self.summary.setText(self.editor.error)

    # -- configuration --------------------------------------------------------------------
    def options(self) -> set[Option]:
        return self.editor.options()

    def set_option(self, opt: Option, on: bool) -> None:
        self.editor.set_option(opt, on)

    def config(self) -> DeidConfig | None:
        return self.editor.config()

    def _changed(self) -> None:
        if self.settings is not None:
            self.settings.profile = self.profile.currentText()
            self.settings.options = sorted(o.cli_name for o in self.editor.options())
        self.configChanged.emit(self.config())
        self._describe()

    # -- describe -------------------------------------------------------------------------
    def set_dataset(self, ds: Dataset | None) -> None:
        self._ds = ds
        if ds is None:
            self.runner.invalidate()
            self.model.set_actions([])
            self.summary.setText("")
            return
        self._describe()

    def _describe(self) -> None:
        ds, config = self._ds, self.config()
        if ds is None:
            return
        if config is None:
            self.summary.setText("header de-identification engine (medeid_gui.deid.engine) is not available yet")
            return

        list_kept = self.show_kept.isChecked()

        def job() -> list[Action]:
            from medeid_gui.deid.engine import Deidentifier

            return list(Deidentifier(config, self._project_key()).describe(ds, list_kept=list_kept))

        self.summary.setText("describing…")
        self.runner.submit(job, tag=(config, list_kept))

    def _project_key(self) -> ProjectKey:
        if self._key is None:
            from medeid_gui.viewmodel.project_key import project_key

            self._key = project_key()
        return self._key

    def _on_described(self, _tag: tuple[DeidConfig, bool], actions: list[Action], seconds: float) -> None:
        self.model.set_actions(actions)
        counts: dict[str, int] = {}
        for a in actions:
            c = a.action
            counts[c] = counts.get(c, 0) + 1
        parts = ", ".join(f"{n} {ACTION_NAMES.get(c, c)}" for c, n in sorted(counts.items()))
        what = "elements" if self.show_kept.isChecked() else "attributes affected"
        self.summary.setText(f"{len(actions)} {what}: {parts}  ({seconds * 1000:.0f} ms)")
        self.described.emit(actions)

    def _on_failed(self, _tag: tuple[DeidConfig, bool], message: str, details: str) -> None:
        self.model.set_actions([])
        self.summary.setText(f"cannot describe this header: {message}")
        self.summary.setToolTip(details[-2000:])
        log.warning("describe failed: %s\n%s", message, details)

    def _on_filter(self, text: str) -> None:
        self.proxy.setFilterFixedString(text)

    def visible_rows(self) -> int:
        return self.proxy.rowCount()

    def shutdown(self) -> None:
        self.runner.shutdown()
