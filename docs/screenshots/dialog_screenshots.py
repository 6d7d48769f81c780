"""Screenshots of the About box, the Privacy models dialog and the export dialog's options.

Why a script: the PNGs in this folder must be regenerable after a UI change, under Xvfb (a real X
server, so tooltips and fonts look as on a desktop). The models dialog is shown after exporting
the shipped model and importing it into a throw-away user folder, so it lists a site model too.
Usage (from the repository root): DISPLAY=:99 python docs/screenshots/dialog_screenshots.py [OUT]
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ["MEDEID_SETTINGS"] = str(Path(tempfile.mkdtemp()) / "medeid.ini")
os.environ["MEDEID_USER_MODELS"] = tempfile.mkdtemp()

from PySide6.QtCore import QEventLoop, QPoint, QTimer
from PySide6.QtWidgets import QApplication, QToolTip, QWidget


def settle(ms: int) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def shoot(w: QWidget, path: Path, tip: QWidget | None = None) -> None:
    """Show ``w`` at the screen's corner and crop the X root window to it (``import``)."""
    w.move(0, 0)
    w.show()
    w.raise_()
    settle(1200)
    if tip is not None:
        QToolTip.showText(tip.mapToGlobal(QPoint(10, tip.height() // 2)), tip.toolTip(), tip)
        settle(800)
    g = w.frameGeometry()
    subprocess.run(["import", "-window", "root", "-crop", f"{g.width()}x{g.height()}+{g.x()}+{g.y()}",
                    "+repage", str(path)], check=True)
    print(path, g.width(), g.height())
    w.close()


def main(out: Path) -> None:
    from pydicom.data import get_testdata_file

    from medeid_gui.deid.options import Option
    from medeid_gui.ui.about_dialog import AboutDialog
    from medeid_gui.ui.app_icon import apply_identity
    from medeid_gui.ui.export_dialog import ExportDialog
    from medeid_gui.ui.models_dialog import ModelsDialog
    from medeid_gui.ui.settings import Settings

    app = QApplication(sys.argv[:1])
    app.setApplicationName("medeid")
    apply_identity(app)
    out.mkdir(parents=True, exist_ok=True)
    about = AboutDialog()
    about.show()
    loop = QEventLoop()
    about.ready.connect(loop.quit)
    QTimer.singleShot(60000, loop.quit)
    loop.exec()
    shoot(about, out / "about.png")
    models = ModelsDialog()
    archive = Path(tempfile.mkdtemp()) / "chest.zip"
    models.export_to(archive)
    models.import_from(archive)
    shoot(models, out / "models.png")
    export = ExportDialog(None, inputs=[Path(get_testdata_file("CT_small.dcm"))],
                          settings=Settings(Path(os.environ["MEDEID_SETTINGS"])))
    export.editor.set_profile("research-clean")
    shoot(export, out / "export-options.png", tip=export.editor.option_boxes[Option.CLEAN_STRUCTURED_CONTENT])


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent)
