"""The privacy slider and its readouts: busy indicator, latency, device, re-id risk, fidelity.

Why the slider emits on every value change (not only on release): the engine is "latest wins",
so sending each position costs nothing but a superseded request, and the image follows the hand.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget
from superqt import QLabeledSlider

from medeid_gui.ml.privacy import Privacy, from_percent, to_percent


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
        self.slider.setToolTip(
            "Fraction of image patches blocked, ranked by identity relevance, and re-synthesised "
            "from medical semantics. 0 % returns the original pixels unchanged.\n"
            "Keys: [ and ] step 5 %, Ctrl+[ / Ctrl+] to 0 % / 100 %."
        )
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
        self.fidelity = QLabel("semantic fidelity: —")
        self.fidelity.setObjectName("fidelityLabel")
        # fixed widths: a label whose text changes width would re-layout (and repaint) the row
        for lab, w in ((self.latency, 70), (self.device, 260), (self.risk, 120), (self.fidelity, 170)):
            lab.setStyleSheet("padding: 0 6px;")
            lab.setFixedWidth(w)

        lay = QHBoxLayout(self)
        lay.setContentsMargins(6, 2, 6, 2)
        lay.addWidget(self.caption)
        lay.addWidget(self.slider, 3)
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
        self.slider.setValue(max(0, min(100, int(v))))

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
        self.slider.setEnabled(ok)
        if not ok:
            self.slider.setToolTip(reason)

    def set_risk(self, value: float | None, reason: str = "") -> None:
        if value is None:
            self.risk.setText("re-id risk: n/a")
            self.risk.setEnabled(False)
            self.risk.setToolTip(reason)
            return
        self.risk.setEnabled(True)
        # a cosine below 0 (embeddings pointing apart) is no less private than 0: a negative
        # "risk" would only confuse; the tooltip keeps the measured value
        self.risk.setText(f"re-id risk: {max(0.0, value):.2f}")
        self.risk.setToolTip(
            "Cosine similarity of the identity embeddings of the original and the de-identified "
            f"frame (ReID encoder; measured {value:+.2f}, shown from 0). 1.0 = same identity "
            "signature; lower is more private. The evaluation's independent attacker is the "
            "number to trust (models/EVALUATION.md)."
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
