"""The app's run-time path never imports scipy, so the bundle leaves it out (issue #18, -45 MB);
site training (``medeid ml train ARCHIVE``, issue #15) runs with what the bundle carries.

Why a fresh interpreter: the test process has scipy loaded by other tests and by ``lab``; only a
new one shows what the app itself pulls in.  It imports every app-side module (the GUI's
composition root included) and runs a real privacy export -- the compensator, the fill repair
and the burned-in text OCR on real files -- and then reports what is in ``sys.modules``.
The training test blocks every module packaging/medeid.spec leaves out (scipy, matplotlib,
torch's compiler, the lab modules site training does not reach ...) and trains and evaluates on
real radiographs; the weights and held-out figures must equal an unblocked run's.
"""

from __future__ import annotations

import ast
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
    pytest.importorskip("rapidocr")
    pytest.importorskip("deid_data")
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


#: a fresh interpreter in which every module the bundle leaves out fails to import, as there
BLOCKED_RUN = r"""
import importlib.abc, json, sys
blocked, tried = json.loads(sys.argv[1]), set()

class LeftOut(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if any(name == b or name.startswith(b + ".") for b in blocked):
            tried.add(name)
            raise ModuleNotFoundError(f"No module named {name!r} (not in the bundle)", name=name)
        return None

sys.meta_path.insert(0, LeftOut())
from medeid_gui.cli import main
rc = main(sys.argv[2:])
print(json.dumps({"rc": rc, "tried": sorted(tried), "modules": sorted(sys.modules)}))
"""


def bundle_excludes() -> tuple[list[str], list[str]]:
    """(the spec's ``excludes``: its literal list and the lab modules it leaves out; the lab modules
    it carries)."""
    sys.path.insert(0, str(REPO / "packaging"))
    try:
        import lab_modules
    finally:
        sys.path.remove(str(REPO / "packaging"))
    spec = ast.parse((REPO / "packaging" / "medeid.spec").read_text(encoding="utf-8"))
    lit = next(n.value for n in spec.body if isinstance(n, ast.Assign)
               and getattr(n.targets[0], "id", "") == "excludes")
    return [e.value for e in lit.elts] + lab_modules.left_out(REPO), lab_modules.needed(REPO)


def test_site_training_runs_with_what_the_bundle_carries(tmp_path: Path) -> None:
    from real_archive import REAL, STEPS, build_archive

    if REAL is None:
        pytest.skip("real CXR set not present at ../shared/real/cxr")
    excludes, carried = bundle_excludes()
    assert "scipy" in excludes and "matplotlib" in excludes and "torch._dynamo" in excludes
    assert "medeid_gui.lab.train_method" in carried and "medeid_gui.lab.cohort_cmd" in excludes
    # 8 real patients imaged on two days: 2 held out, so the held-out evaluation runs too
    root = build_archive(tmp_path / "archive", 8, masks=True)
    args = ["ml", "train", str(root / "dicom"), "--min-patients", "2", "--steps", STEPS, "--seg-steps", "1",
            "--threads", "1", "--eval-attack-steps", "5", "--eval-task-epochs", "1",
            "--labels", str(root / "labels.csv")]
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1", QT_QPA_PLATFORM="offscreen")
    run = subprocess.run([sys.executable, "-c", BLOCKED_RUN, json.dumps(excludes), *args,
                          "--out", str(tmp_path / "bundle")], capture_output=True, text=True, env=env,
                         cwd=tmp_path, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert report["rc"] == 0, run.stdout[-3000:]
    modules = set(report["modules"])
    assert not sorted(m for m in modules if m.split(".")[0] in ("scipy", "matplotlib"))
    assert not [m for m in report["tried"] if m.split(".")[0] == "scipy"]  # not even a caught attempt
    assert "torch._dynamo" in report["tried"]  # torch's optimizers asked; lab.eager_torch answered
    assert {m for m in modules if m.startswith("medeid_gui.lab")} <= set(carried)
    folder = tmp_path / "bundle" / "medeid-dx-chest-frontal"
    from medeid_gui.ml.model_registry import verify_folder

    manifest = verify_folder(folder)
    assert "heldout-evaluation.png" in manifest["files"]  # drawn with Pillow (no matplotlib)
    assert (folder / "heldout-evaluation.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the same training with everything present: the same weights and held-out figures
    ref = subprocess.run([sys.executable, "-m", "medeid_gui", *args, "--out", str(tmp_path / "full")],
                         capture_output=True, text=True, env=env, cwd=tmp_path, timeout=900)
    assert ref.returncode == 0, ref.stderr[-3000:]
    full = tmp_path / "full" / "medeid-dx-chest-frontal"
    for pt in sorted(full.glob("*.pt")):
        assert (folder / pt.name).read_bytes() == pt.read_bytes(), pt.name
    figures = [json.loads((f / "heldout-evaluation.json").read_text(encoding="utf-8")) for f in (folder, full)]
    for f in figures:
        f.pop("seconds")
    assert figures[0] == figures[1]
