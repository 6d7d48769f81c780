"""Composition root of the desktop application (``medeid-gui``).

Why so little happens before ``show()``: the window must be on screen within ~2 s even on a
slow machine. Only Qt, pyqtgraph and the UI modules load first; pydicom loads with the first
scan (worker thread), torch and the networks load in a worker thread after the first paint.
"""

from __future__ import annotations

import argparse
import logging
import logging.handlers
import os
import sys
import time
from pathlib import Path

from medeid_gui.viewmodel.logs import log_dir

_T_IMPORT = time.perf_counter()
log = logging.getLogger("medeid")


def process_age() -> float:
    """Seconds since this process started (Linux: from /proc; elsewhere: since this import)."""
    try:
        with open("/proc/self/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
        start_ticks = int(fields[19])  # field 22 overall: starttime in clock ticks since boot
        with open("/proc/uptime", "rb") as fh:
            uptime = float(fh.read().split()[0])
        return uptime - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return time.perf_counter() - _T_IMPORT


def setup_logging(verbose: bool = False) -> Path:
    """Log to ``user_log_dir("medeid")/medeid-gui.log`` (rotated) and to stderr."""
    d = log_dir()
    d.mkdir(parents=True, exist_ok=True)
    path = d / "medeid-gui.log"
    root = logging.getLogger()
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    fh = logging.handlers.RotatingFileHandler(path, maxBytes=2_000_000, backupCount=3, encoding="utf-8")
    fh.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s"))
    root.addHandler(fh)
    sh = logging.StreamHandler()
    sh.setLevel(logging.WARNING if not verbose else logging.DEBUG)
    sh.setFormatter(logging.Formatter("medeid-gui: %(levelname)s %(message)s"))
    root.addHandler(sh)
    return path


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="medeid-gui", description="medeid desktop application")
    p.add_argument("paths", nargs="*", type=Path, help="folders, DICOMDIR files or DICOM files to open")
    p.add_argument("--demo", action="store_true", help="open the bundled demo studies and pydicom samples")
    p.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"], help="inference device (default: last used)")
    p.add_argument("--privacy", type=float, help="privacy level in percent (0-100) of the first series shown")
    p.add_argument("--overlay", choices=["none", "idmap", "mask", "diff"], default=None, help="initial overlay")
    p.add_argument("--screenshot", type=Path, metavar="PNG",
                   help="save the window to PNG once the demo image and its result are shown, then quit")
    p.add_argument("--series", type=int, default=0, help="with --screenshot: index of the series to show")
    p.add_argument("--modality", help="with --screenshot: show the first series of this modality (e.g. DX)")
    p.add_argument("--size", default="1600x920", help="with --screenshot: window size WxH")
    p.add_argument("--smoke-test", action="store_true", help="start, show the window, quit (exit code 0 = ok)")
    p.add_argument("--startup-report", action="store_true", help="print seconds from process start to shown window")
    p.add_argument("-v", "--verbose", action="store_true")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    log_path = setup_logging(args.verbose)

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from medeid_gui.ml.privacy import from_percent

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setOrganizationName("medeid")
    app.setApplicationName("medeid")
    app.setApplicationDisplayName("medeid")
    from medeid_gui.ui.app_icon import apply_identity

    apply_identity(app)  # window icon and the desktop entry's name (org.medeid.medeid)

    phases = [("qt", process_age())]
    from medeid_gui.ui.errors import install_excepthook
    from medeid_gui.ui.main_window import MainWindow
    from medeid_gui.ui.settings import Settings

    phases.append(("ui imports", process_age()))
    settings = Settings()
    win = MainWindow(settings, device=args.device)
    phases.append(("window built", process_age()))
    install_excepthook(lambda: win)
    if args.overlay == "idmap":
        win.act_idmap.setChecked(True)
    elif args.overlay == "mask":
        win.act_mask.setChecked(True)
    elif args.overlay == "diff":
        win.act_diff.setChecked(True)

    painted: list[float] = []
    win.painted.connect(lambda: painted.append(process_age()))

    def on_shown() -> None:
        age = process_age()
        if args.privacy is not None:  # the first series shown (each series opens at 0 otherwise)
            def first_level(_lf: object) -> None:
                win.frameShown.disconnect(first_level)
                win.set_privacy(from_percent(int(round(args.privacy))))

            win.frameShown.connect(first_level)
        first = painted[0] if painted else age
        log.info("window painted %.2f s, complete %.2f s after process start (log: %s)", first, age, log_path)
        if args.startup_report:
            steps = " ".join(f"{name.replace(' ', '_')}={t:.3f}" for name, t in phases)
            print(f"startup_to_shown_s={first:.3f} complete_s={age:.3f} ({steps})", flush=True)
        if args.smoke_test:
            QTimer.singleShot(200, app.quit)

    win.shown.connect(on_shown)
    if args.screenshot:
        from medeid_gui.ui.screenshot import ScreenshotScript

        w, _, h = args.size.partition("x")
        win.resize(int(w), int(h))
        script = ScreenshotScript(win, args.screenshot, series_index=args.series, modality=args.modality)
        script.done.connect(lambda code: app.exit(code))
    win.show()

    if args.paths:
        QTimer.singleShot(0, lambda: win.open_paths(list(args.paths)))
    elif args.demo or args.screenshot:
        QTimer.singleShot(0, win.open_demo)
    return int(app.exec())


if __name__ == "__main__":
    raise SystemExit(main())
