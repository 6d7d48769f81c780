"""Help > About medeid: which software and which weights touch the images.

Why more than a version: a site that de-identifies patient images must be able to say afterwards
exactly what did it — release, git commit, the sha256 and domain of every installed model, the
torch build and device, the PS3.15 edition of the header profile. The facts come from
``medeid_gui.buildinfo``, the same code that prints ``medeid --version``, so the two never differ.
They are collected on a worker thread (torch is imported and every model file hashed), so the box
opens at once and fills in a moment later; "Copy Details" puts the ``--version`` text on the
clipboard for a support request or an audit file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from .app_icon import app_icon, icon_pixmap
from .bridge import LatestRunner

if TYPE_CHECKING:
    from medeid_gui.buildinfo import BuildInfo


class AboutDialog(QDialog):
    """``ready`` once the build facts are shown (``info`` then holds them)."""

    ready = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        import medeid_gui

        super().__init__(parent)
        self.setObjectName("aboutDialog")
        self.setWindowTitle("About medeid")
        self.setWindowIcon(app_icon())
        self.info: BuildInfo | None = None
        self.logo = QLabel()
        self.logo.setObjectName("aboutIcon")
        self.logo.setPixmap(icon_pixmap(96))
        self.logo.setAlignment(Qt.AlignmentFlag.AlignTop)
        # a text view, not a label: one block per model, and a site may have many (it scrolls)
        self.text = QTextBrowser()
        self.text.setObjectName("aboutText")
        self.text.setFrameShape(QTextBrowser.Shape.NoFrame)
        self.text.setStyleSheet("QTextBrowser { background: transparent; }")
        self.text.setHtml(f"<h3>medeid {medeid_gui.__version__}</h3><p>collecting build facts…</p>")
        body = QHBoxLayout()
        body.addWidget(self.logo)
        body.addWidget(self.text, 1)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.copy = QPushButton("Copy Details")
        self.copy.setObjectName("aboutCopy")
        self.copy.setEnabled(False)
        self.copy.setToolTip("Copy the same facts as `medeid --version` to the clipboard")
        self.copy.clicked.connect(self.copy_details)
        self.buttons.addButton(self.copy, QDialogButtonBox.ButtonRole.ActionRole)
        self.buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(body)
        lay.addWidget(self.buttons)
        self.resize(720, 380)
        self.runner = LatestRunner("about", self)
        self.runner.finished.connect(self._on_collected)
        self.runner.failed.connect(self._on_failed)
        self.runner.submit(self._collect)

    @staticmethod
    def _collect() -> BuildInfo:
        from medeid_gui.buildinfo import collect

        return collect()

    def _on_collected(self, _tag: object, info: BuildInfo, _seconds: float) -> None:
        from medeid_gui.buildinfo import about_html

        self.info = info
        self.text.setHtml(about_html(info))
        self.copy.setEnabled(True)
        self.ready.emit()

    def _on_failed(self, _tag: object, message: str, details: str) -> None:
        self.text.setHtml(f"<h3>medeid</h3><p>cannot collect the build facts: {message}</p>")
        self.text.setToolTip(details[-2000:])
        self.ready.emit()

    def copy_details(self) -> None:
        from medeid_gui.buildinfo import version_text

        if self.info is not None:
            QGuiApplication.clipboard().setText(version_text(self.info))

    def done(self, result: int) -> None:
        self.runner.shutdown()
        super().done(result)
