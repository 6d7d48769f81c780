"""Error dialogs with a details section, and a last-resort exception hook.

Why: the issue asks that errors never fail silently. Every failure the user can cause (a broken
file, an unwritable destination, a model that fails to load) ends in :func:`show_error`, which logs
the full traceback and shows a short message with the traceback under "Show Details...".
"""

from __future__ import annotations

import logging
import sys
import traceback
from types import TracebackType

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

log = logging.getLogger("medeid.ui")


def format_exception(exc: BaseException) -> str:
    """The traceback text shown in the details section."""
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))


def error_box(
    parent: QWidget | None, title: str, message: str, details: str | None = None
) -> QMessageBox:
    """Build (but do not run) the error dialog; tests inspect it, :func:`show_error` runs it."""
    box = QMessageBox(parent)
    box.setObjectName("medeidErrorDialog")
    box.setIcon(QMessageBox.Icon.Critical)
    box.setWindowTitle(title)
    box.setText(message)
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    if details:
        box.setDetailedText(details)
    box.setStandardButtons(QMessageBox.StandardButton.Ok)
    return box


def show_error(
    parent: QWidget | None,
    title: str,
    message: str,
    details: str | BaseException | None = None,
    *,
    modal: bool = False,
) -> QMessageBox:
    """Log the error and show it as a dialog with a details section.

    Non-modal by default so a background failure never blocks the event loop (and tests can find
    and close the dialog); ``modal=True`` runs ``exec()`` for errors that must be acknowledged.
    """
    if isinstance(details, BaseException):
        details = format_exception(details)
    log.error("%s: %s%s", title, message, f"\n{details}" if details else "")
    box = error_box(parent, title, message, details)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    if modal:
        box.exec()
    else:
        box.setWindowModality(Qt.WindowModality.NonModal)
        box.show()
    return box


class _HookRelay(QObject):
    """Carries an exception raised in any thread to the main thread, where dialogs may be shown."""

    raised = Signal(str, str)


_relay: _HookRelay | None = None


def install_excepthook(parent_getter=lambda: None) -> None:
    """Route uncaught exceptions (Qt slots included) to the log and an error dialog."""
    global _relay
    _relay = _HookRelay()
    _relay.raised.connect(
        lambda msg, det: show_error(parent_getter(), "Unexpected error", msg, det)
    )

    def hook(
        etype: type[BaseException], value: BaseException, tb: TracebackType | None
    ) -> None:
        details = "".join(traceback.format_exception(etype, value, tb))
        if issubclass(etype, KeyboardInterrupt):
            sys.__excepthook__(etype, value, tb)
            return
        if _relay is not None:
            _relay.raised.emit(f"{etype.__name__}: {value}", details)
        else:  # pragma: no cover - before the application exists
            sys.__excepthook__(etype, value, tb)

    sys.excepthook = hook
