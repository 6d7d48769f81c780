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


def admit_every_series(_header: object):
    """A pixel-method gate that admits every series: for the tests of the slider's plumbing
    (requests, latest wins, display) on small files outside the shipped model's domain; the
    domain gate itself is tested with the installed models in test_pixel_gate.py."""
    from medeid_gui.viewmodel.pixel_method import SeriesMethod

    return SeriesMethod(allowed=True)
