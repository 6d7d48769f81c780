"""The privacy slider and its readouts: busy indicator, latency, device, re-id risk, fidelity.

Why the slider emits on every value change (not only on release): the engine is "latest wins",
so sending each position costs nothing but a superseded request, and the image follows the hand.
Why the slider can be off for a series: outside every installed model's domain the method would
paint its training images into the patient's; the line under the slider says so (``set_method``).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget
from superqt import QLabeledSlider

from medeid_gui.ml.familiarity import UNFAMILIAR_NOTE, Familiarity
from medeid_gui.ml.privacy import Privacy, from_percent, to_percent
from medeid_gui.ml.risk import NOT_ASSESSED, RiskReadout

_SLIDER_TIP = (
    "Fraction of image patches blocked, ranked by identity relevance, and re-synthesised "
    "from medical semantics. 0 % returns the original pixels unchanged.\n"
    "Keys: [ and ] step 5 %, Ctrl+[ / Ctrl+] to 0 % / 100 %."
)


class PrivacyPanel(QWidget):
    """``privacyChanged(int percent)`` whenever the slider moves.

    The int percent is the slider's own unit and stays inside this widget: outside it the level
    is :attr:`privacy`, a float in [0, 1] (``ml.privacy``).
    """

    privacyChanged = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("privacyPanel")
        self.caption = QLabel("Privacy level")
        self.caption.setStyleSheet("font-weight: 600;")
        self.slider = QLabeledSlider(Qt.Orientation.Horizontal)
        self.slider.setObjectName("privacySlider")
        self.slider.setRange(0, 100)
        self.slider.setSingleStep(1)
        self.slider.setPageStep(10)
        self.slider.setMinimumWidth(260)
        self.slider.setToolTip(_SLIDER_TIP)
        self._engine_ok, self._method_ok = True, True
        self._engine_reason = ""
        self.slider.valueChanged.connect(self.privacyChanged.emit)

        # a static "working" mark rather than an animated bar: an indeterminate QProgressBar
        # repaints ~60x/s, which costs the event loop time exactly while the engine is busy
        self.busy = QLabel("")
        self.busy.setObjectName("engineBusy")
        self.busy.setFixedWidth(78)
        self.busy.setToolTip("a de-identification request is being computed")
        self.latency = QLabel("—")
        self.latency.setObjectName("latencyLabel")
        self.latency.setToolTip("Time from request to the de-identified frame on screen")
        self.device = QLabel("engine: loading…")
        self.device.setObjectName("deviceLabel")
        self.risk = QLabel("re-id risk: —")
        self.risk.setObjectName("riskLabel")
        self.familiar = QLabel("")
        self.familiar.setObjectName("familiarityLabel")
        self.familiar.setStyleSheet("color: #c25e00; font-weight: 600; padding: 0 6px;")
        self.reason = QLabel("")
        self.reason.setObjectName("methodReason")
        self.reason.setStyleSheet("color: #c25e00; padding: 0 6px;")
        self.reason.setVisible(False)
        self.fidelity = QLabel("semantic fidelity: —")
        self.fidelity.setObjectName("fidelityLabel")
        # fixed widths: a label whose text changes width would re-layout (and repaint) the row
        for lab, w in ((self.latency, 70), (self.device, 260), (self.risk, 190), (self.fidelity, 170)):
            lab.setStyleSheet("padding: 0 6px;")
            lab.setFixedWidth(w)

        outer = QVBoxLayout(self)
        outer.setContentsMargins(6, 2, 6, 2)
        outer.setSpacing(0)
        lay = QHBoxLayout()
        lay.setContentsMargins(0, 0, 0, 0)
        outer.addLayout(lay)
        outer.addWidget(self.reason)
        lay.addWidget(self.caption)
        lay.addWidget(self.slider, 3)
        lay.addWidget(self.familiar)
        lay.addWidget(self.busy)
        lay.addWidget(self.latency)
        lay.addWidget(self.device)
        lay.addStretch(1)
        lay.addWidget(self.risk)
        lay.addWidget(self.fidelity)

    @property
    def percent(self) -> int:
        return int(self.slider.value())

    @property
    def privacy(self) -> Privacy:
        return from_percent(self.percent)

    @property
    def p(self) -> Privacy:
        """:attr:`privacy` under its short name (kept for the GUI tests that read it)."""
        return self.privacy

    def set_privacy(self, privacy: Privacy) -> None:
        self.set_percent(to_percent(privacy))

    def set_percent(self, v: int) -> None:
        """Move the slider; a level above 0 is ignored while the method may not run here."""
        v = max(0, min(100, int(v)))
        if v > 0 and not self._method_ok:
            return
        self.slider.setValue(v)

    @property
    def method_allowed(self) -> bool:
        return self._method_ok

    def set_method(self, allowed: bool, line: str = "") -> None:
        """Whether the method may run on the series shown; ``line`` says why not, under the slider.

        Off: the slider goes to 0 (the original pixels) without emitting (the view model already
        holds 0 for the series) and is disabled; the familiarity warning is cleared.
        """
        self._method_ok = allowed
        if not allowed:
            self.slider.blockSignals(True)
            self.slider.setValue(0)
            self.slider.blockSignals(False)
            self.set_familiarity(None)
        self.reason.setText(line)
        self.reason.setToolTip(line)
        self.reason.setVisible(bool(line))
        self._update_enabled()

    def _update_enabled(self) -> None:
        self.slider.setEnabled(self._engine_ok and self._method_ok)
        tip = _SLIDER_TIP if self._method_ok else self.reason.text()
        self.slider.setToolTip(tip if self._engine_ok else self._engine_reason)

    def step(self, delta: int) -> None:
        self.set_percent(self.percent + delta)

    def set_busy(self, busy: bool) -> None:
        self.busy.setText("working…" if busy else "")

    @property
    def is_busy(self) -> bool:
        return bool(self.busy.text())

    def set_latency(self, seconds: float) -> None:
        self.latency.setText(f"{seconds * 1000:.0f} ms")

    def set_device(self, text: str, ok: bool = True, reason: str = "") -> None:
        self.device.setText(text)
        self.device.setToolTip(reason)
        self._engine_ok, self._engine_reason = ok, reason
        self._update_enabled()

    def set_risk(self, readout: RiskReadout = NOT_ASSESSED) -> None:
        """The re-identification risk in words; the number and its meaning in the tooltip."""
        assessed = readout.auc is not None
        self.risk.setText(f"re-id risk: {readout.word}")
        self.risk.setEnabled(assessed)
        self.risk.setToolTip(readout.tooltip)

    def set_familiarity(self, familiarity: Familiarity | None) -> None:
        """The unfamiliar-image warning beside the slider (hidden for familiar or unscored images)."""
        warn = familiarity is not None and familiarity.unfamiliar
        # the export treats such an image as outside the model's domain (pixels unchanged,
        # manifest reason): say so here, so the preview is not mistaken for what will be written
        self.familiar.setText(f"⚠ {UNFAMILIAR_NOTE}; export keeps pixels" if warn else "")
        self.familiar.setToolTip(
            f"Distance of this image's semantic features from the model's training images: "
            f"{familiarity.ratio:.1f} × the threshold (the 99th percentile of held-out training "
            "images). The fill may not keep the findings. The export writes this image with "
            "header and burned-in text de-identification only, pixels unchanged, and says why in "
            "the manifest (--strict-privacy makes it fail instead)." if warn and familiarity else ""
        )

    def set_fidelity(self, value: float | None, reason: str = "") -> None:
        if value is None:
            self.fidelity.setText("semantic fidelity: n/a")
            self.fidelity.setEnabled(False)
            self.fidelity.setToolTip(reason)
            return
        self.fidelity.setEnabled(True)
        self.fidelity.setText(f"semantic fidelity: {value:.2f}")
        self.fidelity.setToolTip(
            "Cosine similarity of the medical semantic features of the original and the "
            "de-identified frame. 1.0 = findings-relevant content unchanged."
        )
