"""The train dialog driving a BUILT bundle: what a site that installed the app does.

Why: frozen, the dialog's child is not Python but the bundle's ``medeid`` executable beside the
app's (``viewmodel.train_run.cli_program``), which must carry the training modules
(packaging/lab_modules.py) and train without scipy, matplotlib or torch's compiler.  This test
runs the dialog in this process as the frozen app runs it (``sys.frozen`` set and
``sys.executable`` the bundle's ``medeid-gui``, which is all the dialog reads) and lets it plan,
train and install with the real bundle on the small real archive.  Skipped unless a bundle is
built (``dist/medeid`` or ``$MEDEID_BUNDLE``: ``bash packaging/build.sh``) and the real set is there.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from real_archive import REAL, STEPS, build_archive

import medeid_gui

BUNDLE = Path(os.environ.get("MEDEID_BUNDLE") or Path(medeid_gui.__file__).parents[1] / "dist" / "medeid")
pytestmark = [
    pytest.mark.skipif(REAL is None, reason="real CXR set not present at ../shared/real/cxr"),
    pytest.mark.skipif(not (BUNDLE / "medeid").is_file(), reason=f"no built bundle at {BUNDLE}"),
]


def test_dialog_trains_and_installs_with_the_bundle(qtbot, tmp_path: Path, monkeypatch) -> None:
    from medeid_gui.ml.model_registry import verify_folder
    from medeid_gui.ui.train_dialog import TrainDialog
    from medeid_gui.viewmodel.train_run import TrainOptions, train_command

    user = tmp_path / "user-models"
    monkeypatch.setenv("MEDEID_USER_MODELS", str(user))  # the child inherits it: installs there
    monkeypatch.delenv("PYTHONPATH", raising=False)  # a desktop session has none
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(BUNDLE / "medeid-gui"))
    archive = build_archive(tmp_path / "archive", 8, masks=True)
    opts = TrainOptions(min_patients=2, steps=STEPS, threads=1,
                        extra=("--seg-steps", "1", "--eval-attack-steps", "5", "--eval-task-epochs", "1",
                               "--labels", str(archive / "labels.csv")))
    assert train_command(archive, opts)[0] == str(BUNDLE / "medeid")  # the bundle, not Python
    dlg = TrainDialog(options=opts)
    qtbot.addWidget(dlg)
    with qtbot.waitSignal(dlg.planReady, timeout=120000) as got:
        dlg.set_folder(archive / "dicom")
    assert [d.key for d in got.args[0].trainable] == ["dx-chest-frontal"], dlg.log.toPlainText()[-2000:]
    with qtbot.waitSignal(dlg.modelsInstalled, timeout=600000) as installed:
        dlg.start()
    folder = user / "medeid-dx-chest-frontal"
    assert installed.args == [[str(folder)]]
    manifest = verify_folder(folder)
    assert {"heldout-evaluation.png", "heldout-evaluation.md"} <= set(manifest["files"])
    assert "held-out 2 patients" in str(manifest["evaluation"])
    assert "Installed 1 model" in dlg.status.text() and "held-out" in dlg.report.toPlainText()
