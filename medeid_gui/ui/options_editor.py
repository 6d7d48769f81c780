"""Profile preset + PS3.15 option check boxes, shared by the header panel and the export dialog.

Why one widget: the profile the clinician reviews in the header panel is the one the export
dialog starts from; one editor class keeps the rules (presets, the two mutually exclusive date
options, "custom" when the ticks match no preset) in one place.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QGridLayout, QLabel, QVBoxLayout, QWidget


class OptionsEditor(QWidget):
    """``changed()`` after every user edit; :meth:`config` gives the ``DeidConfig``."""

    changed = Signal()

    def __init__(self, profile: str = "basic", options: set[str] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.profile = QComboBox()
        self.profile.setObjectName("profileCombo")
        self.option_boxes: dict[Any, QCheckBox] = {}
        self.error = ""
        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Profile", self.profile)
        self.grid = QGridLayout()
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setVerticalSpacing(0)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(form)
        lay.addLayout(self.grid)
        try:
            from medeid_gui.deid.options import PRESETS, Option
        except ImportError as exc:  # the deid package is missing: say so, show nothing fake
            self.error = f"header de-identification is not available ({exc})"
            self.profile.setEnabled(False)
            self.profile.setToolTip(self.error)
            lay.addWidget(QLabel(self.error))
            return
        self.profile.addItems(list(PRESETS) + ["custom"])
        for i, opt in enumerate(Option):
            cb = QCheckBox(opt.cli_name)
            cb.setToolTip(f"{opt.meaning} (DCM {opt.code})")
            cb.toggled.connect(lambda on, o=opt: self._on_option(o, on))
            self.option_boxes[opt] = cb
            self.grid.addWidget(cb, i // 2, i % 2)
        chosen = set(options or ())
        self.set_profile(profile if profile in PRESETS or profile == "custom" else "basic",
                         extra={o for o in Option if o.cli_name in chosen})
        self.profile.currentTextChanged.connect(self._on_profile)

    def set_profile(self, name: str, extra: set[Any] = frozenset()) -> None:
        from medeid_gui.deid.options import PRESETS

        opts = set(PRESETS.get(name, frozenset())) | set(extra)
        self.profile.blockSignals(True)
        self.profile.setCurrentText(name)
        self.profile.blockSignals(False)
        for o, cb in self.option_boxes.items():
            cb.blockSignals(True)
            cb.setChecked(o in opts)
            cb.blockSignals(False)

    def set_from(self, other: OptionsEditor) -> None:
        self.set_profile(other.profile.currentText(), extra=other.options())

    def _on_profile(self, name: str) -> None:
        if name != "custom":
            self.set_profile(name)
        self.changed.emit()

    def _on_option(self, opt: Any, on: bool) -> None:
        from medeid_gui.deid.options import PRESETS, Option

        exclusive = {Option.RETAIN_LONGITUDINAL_FULL_DATES, Option.RETAIN_LONGITUDINAL_MODIFIED_DATES}
        if on and opt in exclusive:
            for other in exclusive - {opt}:
                cb = self.option_boxes[other]
                cb.blockSignals(True)
                cb.setChecked(False)
                cb.blockSignals(False)
        chosen = self.options()
        match = [n for n, s in PRESETS.items() if set(s) == chosen]
        self.profile.blockSignals(True)
        self.profile.setCurrentText(match[0] if match else "custom")
        self.profile.blockSignals(False)
        self.changed.emit()

    def set_option(self, opt: Any, on: bool) -> None:
        """Tick or untick one option as a user would."""
        self.option_boxes[opt].setChecked(on)

    def options(self) -> set[Any]:
        return {o for o, cb in self.option_boxes.items() if cb.isChecked()}

    def profile_name(self) -> str:
        return self.profile.currentText()

    def config(self) -> Any:
        """The ``deid.engine.DeidConfig`` shown (None when the deid engine is unavailable)."""
        try:
            from medeid_gui.deid.engine import DeidConfig
        except ImportError:
            return None
        name = self.profile.currentText()
        return DeidConfig(options=frozenset(self.options()), profile=name if name != "custom" else "basic")
