"""Profile preset + PS3.15 option check boxes, shared by the header panel and the export dialog.

Why one widget: the profile the clinician reviews in the header panel is the one the export
dialog starts from; one editor class keeps the rules (presets, the two mutually exclusive date
options, "custom" when the ticks match no preset) in one place.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QGridLayout, QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

if TYPE_CHECKING:
    from medeid_gui.deid.engine import DeidConfig
    from medeid_gui.deid.options import Option


def option_tooltip(opt: Option) -> str:
    """What the option keeps or removes, then the names a user meets elsewhere.

    Why the CLI name and code are in the tooltip, not the label: the label must be the name the
    standard uses (what a privacy officer looks up in PS3.15 E.3); the command-line identifier and
    the CID 7050 code are what scripts and the output's marking carry, useful only on demand.
    """
    return f"{opt.summary[:1].upper()}{opt.summary[1:]} (--option {opt.cli_name}, code {opt.code})"


class OptionsEditor(QWidget):
    """``changed()`` after every user edit; :meth:`config` gives the ``DeidConfig``."""

    changed = Signal()

    def __init__(
        self,
        profile: str = "basic",
        options: set[str] | None = None,
        parent: QWidget | None = None,
        *,
        columns: int = 2,
        collapsible: bool = False,
    ) -> None:
        """``collapsible``: the option boxes sit behind an "Options" toggle (narrow side panels)."""
        super().__init__(parent)
        self.profile = QComboBox()
        self.profile.setObjectName("profileCombo")
        self.option_boxes: dict[Option, QCheckBox] = {}
        self.error = ""
        self.toggle = QToolButton()
        self.toggle.setObjectName("optionsToggle")
        self.toggle.setCheckable(True)
        self.toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.toggle.setText("Options")
        self.toggle.setVisible(collapsible)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Profile"))
        row.addWidget(self.profile, 1)
        row.addWidget(self.toggle)
        self.box = QWidget()
        self.grid = QGridLayout(self.box)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setVerticalSpacing(0)
        self.box.setVisible(not collapsible)
        self.toggle.toggled.connect(self._on_toggle)
        self.columns = max(1, columns)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(row)
        lay.addWidget(self.box)
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
            cb = QCheckBox(opt.standard_name)
            cb.setObjectName(f"option-{opt.cli_name}")
            cb.setToolTip(option_tooltip(opt))
            cb.toggled.connect(lambda on, o=opt: self._on_option(o, on))
            self.option_boxes[opt] = cb
            self.grid.addWidget(cb, i // self.columns, i % self.columns)
        chosen = set(options or ())
        self.set_profile(profile if profile in PRESETS or profile == "custom" else "basic",
                         extra={o for o in Option if o.cli_name in chosen})
        self.profile.currentTextChanged.connect(self._on_profile)

    def _on_toggle(self, on: bool) -> None:
        self.box.setVisible(on)
        self.toggle.setArrowType(Qt.ArrowType.DownArrow if on else Qt.ArrowType.RightArrow)

    def _update_toggle_text(self) -> None:
        n = len(self.options())
        self.toggle.setText(f"Options ({n})" if n else "Options")

    def set_profile(self, name: str, extra: set[Option] | frozenset[Option] = frozenset()) -> None:
        from medeid_gui.deid.options import PRESETS

        opts = set(PRESETS.get(name, frozenset())) | set(extra)
        self.profile.blockSignals(True)
        self.profile.setCurrentText(name)
        self.profile.blockSignals(False)
        for o, cb in self.option_boxes.items():
            cb.blockSignals(True)
            cb.setChecked(o in opts)
            cb.blockSignals(False)
        self._update_toggle_text()

    def set_from(self, other: OptionsEditor) -> None:
        self.set_profile(other.profile.currentText(), extra=other.options())

    def _on_profile(self, name: str) -> None:
        if name != "custom":
            self.set_profile(name)
        self.changed.emit()

    def _on_option(self, opt: Option, on: bool) -> None:
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
        self._update_toggle_text()
        self.changed.emit()

    def set_option(self, opt: Option, on: bool) -> None:
        """Tick or untick one option as a user would."""
        self.option_boxes[opt].setChecked(on)

    def options(self) -> set[Option]:
        return {o for o, cb in self.option_boxes.items() if cb.isChecked()}

    def profile_name(self) -> str:
        return self.profile.currentText()

    def config(self) -> DeidConfig | None:
        """The ``deid.engine.DeidConfig`` shown (None when the deid engine is unavailable)."""
        try:
            from medeid_gui.deid.engine import DeidConfig
        except ImportError:
            return None
        name = self.profile.currentText()
        return DeidConfig(options=frozenset(self.options()), profile=name if name != "custom" else "basic")
