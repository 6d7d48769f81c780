"""The viewer's engine follows the registry's choice per series: a site model installed for frontal
chest DX runs for a DX chest, the shipped model again for a CR chest (outside the site model's
domain, inside the shipped one), and the result shown is the site model's, not the shipped one's.

The site model is the shipped folder with seeded noise on the compensator and its domain narrowed
to DX (``ml.weights.save_state`` keeps manifest and sha256 right), installed while the window is
open (``models_changed``, as the train dialog and Settings > Privacy Models call it).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
from pydicom.data import get_testdata_file


def _site_model(folder: Path) -> Path:
    import torch

    from medeid_gui._resources import models_dir
    from medeid_gui.ml.weights import MANIFEST, load_state, read_manifest, save_state

    shutil.copytree(models_dir(), folder)
    name = "medeid-compensator.pt"
    entry = read_manifest(folder)["files"][name]
    gen = torch.Generator().manual_seed(7)

    def noisy(v: object) -> object:
        if isinstance(v, dict):
            return {k: noisy(x) for k, x in v.items()}
        if isinstance(v, torch.Tensor) and v.is_floating_point():
            return v + 0.05 * torch.randn(v.shape, generator=gen)
        return v

    save_state(folder, name, noisy(load_state(folder, name)), model=str(entry["model"]), card=entry.get("card"))
    manifest = read_manifest(folder)
    manifest["name"] = "site-dx-chest"
    manifest["domain"] = {**manifest["domain"], "name": "frontal chest DX (site)", "modalities": ["DX"]}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return folder


def _dx_chest(tmp: Path) -> Path:
    from medeid_gui.lab.cohort import CohortConfig, generate_cohort

    generate_cohort(tmp / "cohort", CohortConfig(patients=3, studies_per_patient=1, seed=991))
    return sorted((tmp / "cohort" / "dicom").rglob("*.dcm"))[0]


def _show(qtbot, win, path: Path, model_dir: str | None) -> None:
    with qtbot.waitSignal(win.frameShown, timeout=60000):
        win.open_paths([path])
    qtbot.waitUntil(lambda: win.engine.available and win.engine.model_dir == model_dir, timeout=60000)
    qtbot.waitUntil(win.privacy.slider.isEnabled, timeout=60000)


def test_engine_follows_the_series_model(qtbot, window, tmp_path: Path, monkeypatch) -> None:
    from medeid_gui.ml.deidentify import deidentify
    from medeid_gui.ml.model import load_model
    from medeid_gui.viewmodel.pixel_method import to_model_sense

    user = tmp_path / "user-models"
    user.mkdir()
    monkeypatch.setenv("MEDEID_USER_MODELS", str(user))
    dx = _dx_chest(tmp_path)
    _show(qtbot, window, dx, None)  # no site model yet: the shipped one
    site = _site_model(user / "site-dx-chest")
    window.models_changed()  # installed while the series is shown: decided again
    qtbot.waitUntil(lambda: window.engine.available and window.engine.model_dir == str(site), timeout=60000)
    with qtbot.waitSignal(window.resultShown, timeout=120000,
                          check_params_cb=lambda r: abs(r.privacy - 1.0) < 1e-9) as got:
        window.privacy.set_percent(100)
    res, lf = got.args[0], window.model.current
    assert res.model_dir == str(site)
    expected = deidentify(to_model_sense(lf.frame, lf.invert), 1.0, seed=0, model=load_model(site, device="cpu"))
    np.testing.assert_allclose(to_model_sense(res.frame, lf.invert), expected.frame, atol=1e-4)

    _show(qtbot, window, Path(get_testdata_file("RG1_UNCR.dcm")), None)  # CR: the shipped model again
    assert window.model.method.model is not None and window.model.method.model.shipped
