"""The application entry: start-up in a fresh process, log file, keyboard shortcuts."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

ROOT = Path(__file__).resolve().parents[2]


def test_smoke_start_writes_log_and_reports_startup(tmp_path) -> None:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", MEDEID_LOG_DIR=str(tmp_path / "log"),
               MEDEID_SETTINGS=str(tmp_path / "s.ini"), MEDEID_KEY_FILE=str(tmp_path / "k"),
               PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-m", "medeid_gui.app", "--smoke-test", "--startup-report"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    m = re.search(r"startup_to_shown_s=([\d.]+) complete_s=([\d.]+)", out.stdout)
    assert m, out.stdout
    assert 0 < float(m.group(1)) <= float(m.group(2))
    log = (tmp_path / "log" / "medeid-gui.log").read_text()
    assert "window painted" in log


def test_keyboard_shortcuts(qtbot, window) -> None:
    window.activateWindow()
    window.privacy.set_percent(50)
    QTest.keyClick(window, Qt.Key.Key_BracketRight)
    assert window.privacy.percent == 55
    QTest.keyClick(window, Qt.Key.Key_BracketLeft)
    QTest.keyClick(window, Qt.Key.Key_BracketLeft)
    assert window.privacy.percent == 45
    QTest.keyClick(window, Qt.Key.Key_BracketRight, Qt.KeyboardModifier.ControlModifier)
    assert window.privacy.percent == 100
    QTest.keyClick(window, Qt.Key.Key_I)
    assert window.act_idmap.isChecked() and window.viewer.show_idmap
    QTest.keyClick(window, Qt.Key.Key_D)
    assert window.viewer.difference
