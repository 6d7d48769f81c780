"""The export picks the model per file: a site model installed in the user models folder for its
domain (frontal chest radiographs) writes that file's pixels, a CT is still refused with the reason.

The site model is the shipped folder with other compensator weights (seeded noise added, saved
through ``ml.weights.save_state`` so its manifest and sha256 are right): a different model of the
same domain.  Proof that it ran: the chest's pixels differ from the shipped model's export and are
byte-identical to an export where that folder *is* the default model (``MEDEID_MODELS``).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file

from medeid_gui.export.pipeline import ExportConfig, run_export
from medeid_gui.export.rundb import read_manifest_csv


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One generated frontal chest DX (inside the chest domain, familiar) and one real CT."""
    from medeid_gui.lab.cohort import CohortConfig, generate_cohort

    root = tmp_path_factory.mktemp("site_cohort")
    generate_cohort(root, CohortConfig(patients=3, studies_per_patient=1, seed=991))
    inp = tmp_path_factory.mktemp("site_in")
    shutil.copyfile(sorted((root / "dicom").rglob("*.dcm"))[0], inp / "chest.dcm")
    shutil.copyfile(get_testdata_file("693_UNCR.dcm"), inp / "ct.dcm")
    return inp


@pytest.fixture(scope="module")
def site_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch

    from medeid_gui._resources import models_dir
    from medeid_gui.ml.weights import load_state, read_manifest, save_state

    folder = tmp_path_factory.mktemp("user") / "site-chest"
    shutil.copytree(models_dir(), folder)
    name = "medeid-compensator.pt"
    entry = read_manifest(folder)["files"][name]
    gen = torch.Generator().manual_seed(7)

    def noisy(v: object) -> object:  # the state is nested (one dict per network)
        if isinstance(v, dict):
            return {k: noisy(x) for k, x in v.items()}
        if isinstance(v, torch.Tensor) and v.is_floating_point():
            return v + 0.05 * torch.randn(v.shape, generator=gen)
        return v

    state = noisy(load_state(folder, name))
    save_state(folder, name, state, model=str(entry["model"]), card=entry.get("card"))
    return folder


def _export(inp: Path, out: Path, env: dict[str, Path], monkeypatch: pytest.MonkeyPatch, *,
            user: Path, models: Path | None = None) -> dict[str, dict[str, str]]:
    """Export at privacy 1 with ``user`` as the user models folder (and ``models`` as the shipped
    one when given), in a fresh registry and fresh engines."""
    from model_domains import fresh_engines

    from medeid_gui.pixels.privacy_gate import forget_models

    monkeypatch.setenv("MEDEID_USER_MODELS", str(user))
    if models is not None:
        monkeypatch.setenv("MEDEID_MODELS", str(models))
    else:
        monkeypatch.delenv("MEDEID_MODELS", raising=False)
    fresh_engines(monkeypatch)
    forget_models()
    s = run_export(ExportConfig(input=inp, output=out, key_file=env["key"], ledger=env["ledger"],
                                state_dir=env["state"], burned_in="off", workers=1, privacy=1.0))
    return {Path(r["input_path"]).name: r for r in read_manifest_csv(s.manifest_path)}


def _pixels(out: Path, row: dict[str, str]) -> bytes:
    return pydicom.dcmread(out / row["output_path"]).PixelData


def test_the_site_model_writes_its_domains_files(inputs, site_model, tmp_path, env, monkeypatch) -> None:
    empty = tmp_path / "no-user-models"
    empty.mkdir()
    shipped = _export(inputs, tmp_path / "shipped", env, monkeypatch, user=empty)
    site = _export(inputs, tmp_path / "site", env, monkeypatch, user=site_model.parent)
    as_default = _export(inputs, tmp_path / "default", env, monkeypatch, user=empty, models=site_model)
    for rows in (shipped, site, as_default):
        assert rows["chest.dcm"]["status"] == "exported" and "privacy" not in rows["chest.dcm"]["reason"]
        assert "no pixel privacy model for CT" in rows["ct.dcm"]["reason"]
    chest = {k: _pixels(tmp_path / k, rows["chest.dcm"])
             for k, rows in (("shipped", shipped), ("site", site), ("default", as_default))}
    assert chest["site"] != chest["shipped"]
    assert chest["site"] == chest["default"]
    ct = {k: _pixels(tmp_path / k, rows["ct.dcm"]) for k, rows in (("shipped", shipped), ("site", site))}
    assert ct["site"] == ct["shipped"]
