"""Screenshots of the privacy slider on real images, taken from an X screen (Xvfb).

Why a script: the images in docs/screenshots/ must be reproducible after every change of the
weights or the GUI (the merger reruns it).  One window, the shipped weights, the real files:

* ``ct-out-of-domain.png``  pydicom-data's 693_UNCR.dcm (a real CT slice): slider off, its reason;
* ``rg1-p025.png``, ``rg1-p050.png``, ``rg1-p100.png``  pydicom-data's RG1_UNCR.dcm (CR chest
  PA, MONOCHROME1) at privacy 0.25, 0.5 and 1.

Each shot waits for the frame, the engine's result at that level and its readouts, then grabs the
whole screen with ImageMagick's ``import -window root`` (what a user would see, window manager
or not).  Usage::

    python tools/screenshots.py [--out docs/screenshots] [--display :99]

Starts ``Xvfb`` on ``--display`` when no X server answers there (pick a free display when others
share the machine: the grab is of the whole screen).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

SIZE = (1600, 920)
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's medeid_gui


def _x_server(display: str) -> subprocess.Popen[bytes] | None:
    """An Xvfb on ``display`` unless one already answers; the process to stop afterwards."""
    if subprocess.run(["xdpyinfo", "-display", display], capture_output=True).returncode == 0:
        return None
    proc = subprocess.Popen(["Xvfb", display, "-screen", "0", f"{SIZE[0]}x{SIZE[1]}x24", "-nolisten", "tcp"])
    for _ in range(100):
        if subprocess.run(["xdpyinfo", "-display", display], capture_output=True).returncode == 0:
            return proc
        time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"Xvfb did not start on {display}")


def _wait(app: object, done: object, timeout: float, what: str) -> None:
    t0 = time.monotonic()
    while not done():  # type: ignore[operator]
        app.processEvents()  # type: ignore[attr-defined]
        time.sleep(0.02)
        if time.monotonic() - t0 > timeout:
            raise SystemExit(f"timed out waiting for {what}")


def _shoot(app: object, out: Path, display: str) -> None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < 1.0:  # paints settle
        app.processEvents()  # type: ignore[attr-defined]
        time.sleep(0.02)
    subprocess.run(["import", "-display", display, "-window", "root", str(out)], check=True)
    print(f"saved {out}", flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    ap.add_argument("--display", default=":99")
    args = ap.parse_args(argv)
    xvfb = _x_server(args.display)
    os.environ.update(DISPLAY=args.display, QT_QPA_PLATFORM="xcb")
    try:
        return _run(args.out, args.display)
    finally:
        if xvfb is not None:
            xvfb.terminate()


def _run(out: Path, display: str) -> int:
    from pydicom.data import get_testdata_file
    from PySide6.QtWidgets import QApplication

    from medeid_gui.ui.main_window import MainWindow
    from medeid_gui.ui.settings import Settings

    out.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    settings = Settings(out / ".screenshots-settings.ini")  # never the user's settings
    win = MainWindow(settings, device="cpu", auto_ocr=False)
    win.setGeometry(0, 0, *SIZE)
    win.show()
    _wait(app, lambda: win.privacy is not None, 30, "the window")
    shown: list[object] = []
    results: list[float] = []
    metrics: list[object] = []
    win.frameShown.connect(shown.append)
    win.resultShown.connect(lambda r: results.append(r.privacy))
    win.engine.metricsReady.connect(lambda *a: metrics.append(a))
    _wait(app, lambda: win.engine.available, 300, "the engine")

    win.open_paths([Path(get_testdata_file("693_UNCR.dcm"))])
    _wait(app, lambda: shown, 120, "the CT frame")
    _shoot(app, out / "ct-out-of-domain.png", display)

    shown.clear()
    win.open_paths([Path(get_testdata_file("RG1_UNCR.dcm"))])
    _wait(app, lambda: shown, 120, "the RG1 frame")
    for level, name in ((0.25, "rg1-p025.png"), (0.5, "rg1-p050.png"), (1.0, "rg1-p100.png")):
        results.clear()
        metrics.clear()
        win.set_privacy(level)
        _wait(app, lambda lv=level: any(abs(r - lv) < 1e-9 for r in results), 600, f"the result at {level}")
        _wait(app, lambda: metrics, 300, f"the readouts at {level}")
        _shoot(app, out / name, display)
    win.close()
    (out / ".screenshots-settings.ini").unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
