"""Screenshot of Privacy > Train a Privacy Model on a Folder… after a short trial run.

Why a script: the PNG must be regenerable after a UI change, under Xvfb.  It builds the tests'
small real archive (tests/real_archive.py: real radiographs of three patients imaged on two days
imported as DICOM, one lateral view, a CT and a broken file), reads its plan in the dialog, trains
with a few steps per stage in the child process, and shoots the dialog with the report shown.
Usage (repository root; the real set in ../shared/real/cxr or $MEDEID_REAL_CXR):
DISPLAY=:97 python docs/screenshots/train_dialog_screenshot.py [OUT.png]
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
os.environ["MEDEID_SETTINGS"] = str(Path(tempfile.mkdtemp()) / "medeid.ini")
os.environ["MEDEID_USER_MODELS"] = tempfile.mkdtemp()  # the trial model is not installed for real

from dialog_screenshots import settle, shoot  # noqa: E402
from PySide6.QtCore import QEventLoop, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402


def wait_for(signal, timeout_ms: int) -> None:
    loop = QEventLoop()
    signal.connect(loop.quit)
    QTimer.singleShot(timeout_ms, loop.quit)
    loop.exec()


def main(out: Path) -> None:
    from real_archive import REAL, build_archive

    from medeid_gui.ui.app_icon import apply_identity
    from medeid_gui.ui.train_dialog import TrainDialog
    from medeid_gui.viewmodel.train_run import TrainOptions

    if REAL is None:
        raise SystemExit("the real CXR set is not present (../shared/real/cxr or $MEDEID_REAL_CXR)")
    app = QApplication(sys.argv[:1])
    app.setApplicationName("medeid")
    apply_identity(app)
    archive = build_archive(Path(tempfile.mkdtemp()) / "archive") / "dicom"
    dlg = TrainDialog(options=TrainOptions(min_patients=2, steps="reid=4,idmap=4,ssl=4,mdl=4,comp=4",
                                           extra=("--seg-steps", "1")))
    dlg.resize(900, 700)
    dlg.move(0, 0)
    dlg.show()
    dlg.set_folder(archive)
    wait_for(dlg.planReady, 120000)
    dlg.set_labels(archive.parent / "labels.csv")  # the CSV the archive was imported with
    dlg.start()
    wait_for(dlg.trainingFinished, 600000)
    settle(500)
    shoot(dlg, out)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent / "train-dialog.png")
