"""Helpers shared by the GUI tests."""

from __future__ import annotations


def error_dialogs():
    """Visible error dialogs made by ui.errors.show_error."""
    from PySide6.QtWidgets import QApplication, QMessageBox

    return [
        w
        for w in QApplication.topLevelWidgets()
        if isinstance(w, QMessageBox) and w.objectName() == "medeidErrorDialog" and w.isVisible()
    ]
