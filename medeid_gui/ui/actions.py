"""The main window's menus, shortcuts and toolbar.

Why apart from the window: building ~30 actions is a long list of declarations that says
nothing about how the window works; the window keeps its behaviour, this module its menus. The
actions stay attributes of the window (``win.act_idmap`` ...): tests and the screenshot script
drive the window through them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMenu, QToolBar

if TYPE_CHECKING:
    from medeid_gui.viewmodel.train_run import TrainOptions

    from .main_window import MainWindow

DEVICES = ("auto", "cpu", "cuda", "mps")


def make_action(win: MainWindow, text: str, slot: Callable[..., object] | None,
                shortcut: str | QKeySequence | QKeySequence.StandardKey | None = None, *,
                checkable: bool = False, tip: str = "") -> QAction:
    """An action added to the window itself, so its shortcut works whichever panel has focus."""
    a = QAction(text, win)
    if shortcut:
        a.setShortcut(QKeySequence(shortcut))
    a.setCheckable(checkable)
    if tip:
        a.setToolTip(tip)
        a.setStatusTip(tip)
    if slot is not None:
        (a.toggled if checkable else a.triggered).connect(slot)
    win.addAction(a)
    return a


def install_actions(win: MainWindow) -> None:
    """File, View, Privacy and Help menus and the toolbar of ``win``."""
    _file_menu(win)
    _view_menu(win)
    _privacy_menu(win)
    _settings_and_help_menus(win)
    tb = QToolBar("Main")
    tb.setObjectName("mainToolbar")
    tb.setMovable(False)
    for a in (win.act_open_dir, win.act_open_files, win.act_export):
        tb.addAction(a)
    tb.addSeparator()
    for a in (win.act_idmap, win.act_mask, win.act_diff, win.act_reset):
        tb.addAction(a)
    win.addToolBar(tb)


def _file_menu(win: MainWindow) -> None:
    f = win.menuBar().addMenu("&File")
    win.act_open_dir = make_action(win, "Open &Folder…", win.open_folder_dialog, QKeySequence.StandardKey.Open)
    win.act_open_dicomdir = make_action(win, "Open &DICOMDIR…", win.open_dicomdir_dialog)
    win.act_open_files = make_action(win, "Open F&iles…", win.open_files_dialog, "Ctrl+Shift+O")
    win.act_demo = make_action(win, "Open De&mo Studies", win.open_demo)
    win.recent_menu = QMenu("Open &Recent", win)
    win.refresh_recent()
    win.act_export = make_action(win, "&Export…", win.export_dialog, "Ctrl+E",
                                 tip="De-identify the opened studies to a folder")
    win.act_export.setEnabled(False)
    win.act_quit = make_action(win, "&Quit", win.close, QKeySequence.StandardKey.Quit)
    for a in (win.act_open_dir, win.act_open_dicomdir, win.act_open_files, win.act_demo):
        f.addAction(a)
    f.addMenu(win.recent_menu)
    f.addSeparator()
    f.addAction(win.act_export)
    f.addSeparator()
    f.addAction(win.act_quit)


def _view_menu(win: MainWindow) -> None:
    v = win.menuBar().addMenu("&View")
    win.act_idmap = make_action(win, "&Identity Map Overlay", None, "I", checkable=True,
                                tip="Heat map of identity relevance over the original")
    win.act_mask = make_action(win, "&Blocked Mask", None, "M", checkable=True,
                               tip="Tint the patches the privacy level blocks")
    win.act_diff = make_action(win, "&Difference View", None, "D", checkable=True,
                               tip="Show de-identified − original on the right")
    win.act_reset = make_action(win, "&Reset Zoom", win.reset_zoom, "R")
    win.act_next = make_action(win, "&Next Slice", lambda: win.step_slice(1), "PgDown")
    win.act_prev = make_action(win, "&Previous Slice", lambda: win.step_slice(-1), "PgUp")
    win.act_next2 = make_action(win, "Next Slice (alt)", lambda: win.step_slice(1), ".")
    win.act_prev2 = make_action(win, "Previous Slice (alt)", lambda: win.step_slice(-1), ",")
    for a in (win.act_idmap, win.act_mask, win.act_diff):
        v.addAction(a)
    v.addSeparator()
    v.addAction(win.act_reset)
    v.addAction(win.act_next)
    v.addAction(win.act_prev)
    v.addSeparator()
    win.window_menu = v.addMenu("&Window Presets")
    win.window_actions = []
    for k in range(10):  # 0 = the file's default window, 1..9 = its presets
        a = make_action(win, f"Preset {k}", lambda _=False, k=k: win.apply_window_preset(k), str(k))
        a.setEnabled(False)
        win.window_actions.append(a)
        win.window_menu.addAction(a)


def _privacy_menu(win: MainWindow) -> None:
    p = win.menuBar().addMenu("&Privacy")
    win.act_priv_up = make_action(win, "Increase 5 %", lambda: win.step_privacy(5), "]")
    win.act_priv_down = make_action(win, "Decrease 5 %", lambda: win.step_privacy(-5), "[")
    win.act_priv_max = make_action(win, "100 %", lambda: win.set_privacy(1.0), "Ctrl+]")
    win.act_priv_min = make_action(win, "0 % (original pixels)", lambda: win.set_privacy(0.0), "Ctrl+[")
    for a in (win.act_priv_up, win.act_priv_down, win.act_priv_max, win.act_priv_min):
        p.addAction(a)
    #: actions that need the viewer / privacy panel: enabled once the window's body is built
    win.body_actions = [win.act_idmap, win.act_mask, win.act_diff, win.act_reset, win.act_priv_up,
                        win.act_priv_down, win.act_priv_max, win.act_priv_min]
    for a in win.body_actions:
        a.setEnabled(False)
    p.addSeparator()
    win.act_train = make_action(win, "&Train a Privacy Model on a Folder…", lambda: show_train(win),
                                tip="Train pixel privacy models on a folder of your own images "
                                    "(one per domain), in a separate process; installed when done")
    p.addAction(win.act_train)
    dev = p.addMenu("Inference &Device")
    group = QActionGroup(win)
    for name in DEVICES:
        a = QAction(name, win, checkable=True)
        a.setChecked(name == (win.device or "auto"))
        a.triggered.connect(lambda _=False, n=name: win.set_device(n))
        group.addAction(a)
        dev.addAction(a)


def _settings_and_help_menus(win: MainWindow) -> None:
    from .app_icon import app_icon

    win.setWindowIcon(app_icon())  # also set application-wide by app.py; tests build the window alone
    s = win.menuBar().addMenu("&Settings")
    win.act_models = make_action(win, "Privacy &Models…", lambda: show_models(win),
                                 tip="Installed pixel privacy models: domain, training data, licence, "
                                     "evaluation, sha256; export and import")
    s.addAction(win.act_models)
    h = win.menuBar().addMenu("&Help")
    h.addAction(make_action(win, "Open &Log Folder", open_log_folder))
    win.act_about = make_action(win, "&About medeid", lambda: about(win))
    h.addAction(win.act_about)


def open_log_folder() -> None:
    from PySide6.QtCore import QUrl
    from PySide6.QtGui import QDesktopServices

    from medeid_gui.viewmodel.logs import log_dir

    QDesktopServices.openUrl(QUrl.fromLocalFile(str(log_dir())))


def about(win: MainWindow) -> None:
    """Help > About medeid (one box, raised again when already open)."""
    from .about_dialog import AboutDialog

    dlg = getattr(win, "about_dialog", None)
    if dlg is None or not dlg.isVisible():
        dlg = win.about_dialog = AboutDialog(win)
    dlg.show()
    dlg.raise_()


def show_models(win: MainWindow) -> None:
    """Settings > Privacy Models…: the registry's models; export and import of model archives."""
    from .models_dialog import ModelsDialog

    dlg = getattr(win, "models_dialog", None)
    if dlg is None or not dlg.isVisible():
        dlg = win.models_dialog = ModelsDialog(win)
        dlg.modelsChanged.connect(win.models_changed)
    dlg.show()
    dlg.raise_()


def show_train(win: MainWindow, options: TrainOptions | None = None) -> None:
    """Privacy > Train a Privacy Model on a Folder… (one dialog, raised again when open);
    ``options``: the CLI's training options (tests: tiny step counts)."""
    from .train_dialog import TrainDialog

    dlg = getattr(win, "train_dialog", None)
    if dlg is None:
        dlg = win.train_dialog = TrainDialog(win, options=options)
        dlg.modelsInstalled.connect(lambda _folders: win.models_changed())
    dlg.show()
    dlg.raise_()
