"""The app's run-time path never imports scipy, so the bundle leaves it out (issue #18, -45 MB).

Why a fresh interpreter: the test process has scipy loaded by other tests and by ``lab``; only a
new one shows what the app itself pulls in.  It imports every app-side module (the GUI's
composition root included) and runs a real privacy export -- the compensator, the fill repair
and the burned-in text OCR on real files -- and then reports what is in ``sys.modules``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pydicom
import pytest
from corpora import deid_data_file
from pydicom.data import get_testdata_file

import medeid_gui

pytest.importorskip("rapidocr")
pytest.importorskip("deid_data")

REPO = Path(medeid_gui.__file__).parent.parent

SCRIPT = r"""
import importlib, json, pkgutil, sys
from pathlib import Path

for pkg in ("medeid_gui.dicom", "medeid_gui.deid", "medeid_gui.ml", "medeid_gui.pixels",
            "medeid_gui.export", "medeid_gui.viewmodel", "medeid_gui.ui", "medeid_gui.cli"):
    p = importlib.import_module(pkg)
    for info in pkgutil.walk_packages(p.__path__, prefix=pkg + "."):
        importlib.import_module(info.name)
import medeid_gui.app  # noqa: F401 - the GUI's composition root

from medeid_gui.export.pipeline import ExportConfig, run_export
from medeid_gui.export.rundb import read_manifest_csv

inp, out, key, ledger, state = (Path(a) for a in sys.argv[1:6])
s = run_export(ExportConfig(input=inp, output=out, key_file=key, ledger=ledger, state_dir=state,
                            workers=1, privacy=1.0, burned_in="auto"))
rows = {Path(r["input_path"]).name: r for r in read_manifest_csv(s.manifest_path)}
print(json.dumps({"rows": rows, "modules": sorted(sys.modules)}))
"""


def test_privacy_export_with_ocr_never_imports_scipy(tmp_path: Path) -> None:
    from model_domains import any_image_models

    inp = tmp_path / "in"
    inp.mkdir()
    # a small real MR (the method runs on it with a models folder declared for every image) and
    # a real ultrasound with patient data burned into its pixels (OCR finds and redacts it)
    shutil.copyfile(get_testdata_file("MR_small.dcm"), inp / "mr.dcm")
    shutil.copyfile(deid_data_file("ultrasounds", "GREYSCALE_IMAGE.dcm"), inp / "us.dcm")
    env = dict(os.environ, PYTHONPATH=str(REPO), MEDEID_MODELS=str(any_image_models(tmp_path / "models")),
               QT_QPA_PLATFORM="offscreen", OMP_NUM_THREADS="1")
    secrets = [tmp_path / "s" / "project.key", tmp_path / "s" / "ledger.sqlite", tmp_path / "state"]
    env.update(MEDEID_KEY_FILE=str(secrets[0]), MEDEID_LEDGER=str(secrets[1]), MEDEID_STATE_DIR=str(secrets[2]))
    run = subprocess.run([sys.executable, "-c", SCRIPT, str(inp), str(tmp_path / "out"), *map(str, secrets)],
                         capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(run.stdout.strip().splitlines()[-1])
    rows, modules = report["rows"], set(report["modules"])
    for name in ("mr.dcm", "us.dcm"):
        assert rows[name]["status"] == "exported", rows[name]["reason"]
        ds = pydicom.dcmread(tmp_path / "out" / rows[name]["output_path"])
        codes = {str(i.CodeValue) for i in ds.get("DeidentificationMethodCodeSequence", [])}
        assert "113102" in codes, (name, codes)  # the pixel method (and so the fill repair) ran
        assert ds.PixelData != pydicom.dcmread(inp / name).PixelData
    assert "onnxruntime" in modules and "torch" in modules  # the OCR and the model really ran
    assert "medeid_gui.ml.spline_resize" in modules
    assert not sorted(m for m in modules if m == "scipy" or m.startswith("scipy."))
