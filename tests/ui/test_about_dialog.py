"""Help > About medeid shows what ``medeid --version`` prints; the window carries the app icon."""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtWidgets import QApplication

from medeid_gui import __version__, buildinfo
from medeid_gui.ui.about_dialog import AboutDialog
from medeid_gui.ui.app_icon import DESKTOP_FILE_NAME, app_icon, apply_identity

ROOT = Path(__file__).resolve().parents[2]


def test_about_from_the_help_menu_shows_the_build_facts(qtbot, window) -> None:
    assert window.act_about.text() == "&About medeid"
    assert not window.windowIcon().isNull()
    window.act_about.trigger()
    dlg = window.about_dialog
    assert isinstance(dlg, AboutDialog) and dlg.isVisible() and dlg.windowTitle() == "About medeid"
    if dlg.info is None:
        with qtbot.waitSignal(dlg.ready, timeout=60000):
            pass
    text = dlg.text.toPlainText()
    assert __version__ in text
    assert buildinfo.git_commit(ROOT) in text  # this checkout's commit
    assert buildinfo.profile_edition() in text and "PS3.15" in text
    assert buildinfo.torch_line() in text and "build), device " in text
    models, _problems = buildinfo.model_lines(verify=False)
    assert models, "the shipped model should be installed in a source checkout"
    for m in models:
        assert re.fullmatch(r"[0-9a-f]{64}", m.digest)
        assert m.digest in text and m.domain in text
    assert "verified" in text
    assert not dlg.logo.pixmap().isNull() and dlg.logo.pixmap().width() >= 64

    # Copy Details carries the --version text
    dlg.copy.click()
    copied = QApplication.clipboard().text()
    assert copied == buildinfo.version_text(dlg.info)
    assert copied.startswith(f"medeid {__version__}") and models[0].digest in copied
    dlg.close()


def test_icon_set_and_desktop_identity(qapp) -> None:
    icon = app_icon()
    assert not icon.isNull()
    sizes = {s.width() for s in icon.availableSizes()}
    assert {16, 32, 48, 256} <= sizes
    apply_identity(qapp)
    assert not qapp.windowIcon().isNull()
    assert qapp.desktopFileName() == DESKTOP_FILE_NAME
    # the name the Linux package installs its desktop entry under
    assert f"/usr/share/applications/{DESKTOP_FILE_NAME}.desktop" in (
        ROOT / "packaging" / "build_deb.sh").read_text()
