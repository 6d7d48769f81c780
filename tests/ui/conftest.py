"""Fixtures for the GUI tests: an isolated settings file, key and log dir; a shown main window."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def _isolated_user_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never touch the real user's settings, project key or logs."""
    monkeypatch.setenv("MEDEID_SETTINGS", str(tmp_path / "settings" / "medeid.ini"))
    monkeypatch.setenv("MEDEID_KEY_FILE", str(tmp_path / "key" / "project.key"))
    monkeypatch.setenv("MEDEID_LOG_DIR", str(tmp_path / "log"))
    # run databases, ledgers and manifests of exports go to platformdirs' user dirs
    for var in ("XDG_STATE_HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")


@pytest.fixture
def settings(tmp_path: Path):
    from medeid_gui.ui.settings import Settings

    return Settings(tmp_path / "settings" / "medeid.ini")


@pytest.fixture
def window(qtbot, settings):
    """A shown main window with the engine loading in the background (as in the app)."""
    from medeid_gui.ui.main_window import MainWindow

    win = MainWindow(settings, device="cpu", auto_ocr=False)  # OCR only where a test asks (CPU budget)
    qtbot.addWidget(win)
    with qtbot.waitSignal(win.shown, timeout=5000):
        win.show()
    yield win
    win.close()


@pytest.fixture
def close_dialogs():
    from ui_helpers import error_dialogs

    yield
    for d in error_dialogs():
        d.close()


@pytest.fixture(scope="session")
def method_model():
    """The method's real networks with seeded, untrained weights.

    Why not the shipped weights: the GUI tests check the plumbing (requests, latest-wins,
    display of what the method returns), which must not depend on whether trained weights are
    installed; results are compared against a direct call of ``ml.deidentify`` with this model.
    """
    import torch

    from medeid_gui.ml.model import new_model

    torch.manual_seed(0)
    return new_model(0).to("cpu").eval()


@pytest.fixture
def engine_window(qtbot, settings, method_model):
    """A shown main window whose engine runs ``method_model`` on the CPU, with CT_small open.

    CT_small is outside the shipped model's domain; the window's gate admits it so that the
    plumbing is tested on a small image (the domain gate: test_pixel_gate.py).
    """
    from pathlib import Path

    from pydicom.data import get_testdata_file
    from ui_helpers import admit_every_series

    from medeid_gui.ui.main_window import MainWindow

    win = MainWindow(settings, device="cpu", model=method_model, auto_ocr=False, gate=admit_every_series)
    qtbot.addWidget(win)
    with qtbot.waitSignal(win.engine.ready, timeout=60000):
        with qtbot.waitSignal(win.shown, timeout=5000):
            win.show()
    with qtbot.waitSignals([win.resultShown, win.header_panel.described], timeout=60000):
        win.open_paths([Path(get_testdata_file("CT_small.dcm"))])
    qtbot.wait(300)  # first paints of the table and thumbnails settle
    yield win
    win.close()
