"""Installed models: per-domain choice, export/import between workstations, tampering refused."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

from medeid_gui._resources import models_dir
from medeid_gui.ml.domain import ImageFacts
from medeid_gui.ml.model_registry import (
    ModelImportError,
    choose_model,
    describe_model,
    export_model,
    import_model,
    installed_models,
)

CHEST = ImageFacts(modality="CR", body_part="CHEST", view="PA", photometric="MONOCHROME1", rows=1000, columns=900)
CT_HEAD = ImageFacts(modality="CT", body_part="HEAD", photometric="MONOCHROME2", rows=512, columns=512)


def _site_model(root: Path, name: str = "site-chest") -> Path:
    """A copy of the shipped weights declared as a site model (same files, its own name)."""
    folder = root / name
    shutil.copytree(models_dir(), folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["name"] = name
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def test_shipped_model_is_listed_with_its_domain(tmp_path: Path) -> None:
    models = installed_models(user_dir=tmp_path / "none")
    assert [m.name for m in models] == ["medeid-chest-generated"]
    assert models[0].shipped and models[0].risk is not None
    assert "no patient data" in models[0].licence


def test_choice_by_domain_site_model_first(tmp_path: Path) -> None:
    _site_model(tmp_path)
    models = installed_models(user_dir=tmp_path)
    assert [m.shipped for m in models] == [False, True]
    assert choose_model(CHEST, models).model.name == "site-chest"
    none = choose_model(CT_HEAD, models)
    assert none.model is None and "CT HEAD" in none.verdict.reason
    assert choose_model(CHEST, []).verdict.reason == "no pixel privacy model is installed"


def test_export_import_round_trip_gives_the_same_model_and_bytes(tmp_path: Path) -> None:
    a = export_model(models_dir(), tmp_path / "a.zip")
    b = export_model(models_dir(), tmp_path / "b.zip")
    assert a.read_bytes() == b.read_bytes()  # one model, one archive
    installed = import_model(a, user_dir=tmp_path / "other-machine")
    assert installed.digest == describe_model(models_dir(), shipped=True).digest
    again = import_model(a, user_dir=tmp_path / "other-machine")
    assert again.folder == installed.folder
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    from medeid_gui.ml.deidentify import deidentify
    from medeid_gui.ml.model import load_model

    frame = np.random.default_rng(0).integers(0, 4096, (256, 256)).astype(np.uint16)
    mine = deidentify(frame, 0.5, model=load_model(models_dir(), device="cpu"))[0]
    theirs = deidentify(frame, 0.5, model=load_model(installed.folder, device="cpu"))[0]
    assert mine.tobytes() == theirs.tobytes()


def _rezip(src: Path, dst: Path, change: str | None = None, drop: str | None = None, add: str | None = None) -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == drop:
                continue
            if info.filename == change:
                data = data[:1000] + bytes([data[1000] ^ 1]) + data[1001:]
            zout.writestr(info.filename, data)
        if add:
            zout.writestr(add, b"#!/bin/sh\n")
    return dst


def test_tampered_incomplete_or_padded_models_are_refused(tmp_path: Path) -> None:
    good = export_model(models_dir(), tmp_path / "m.zip")
    user = tmp_path / "user"
    with pytest.raises(ModelImportError, match="does not match its sha256"):
        import_model(_rezip(good, tmp_path / "t.zip", change="medeid-semantic.pt"), user_dir=user)
    with pytest.raises(ModelImportError, match="missing"):
        import_model(_rezip(good, tmp_path / "i.zip", drop="medeid-compensator.pt"), user_dir=user)
    with pytest.raises(ModelImportError, match="not part of the model"):
        import_model(_rezip(good, tmp_path / "p.zip", add="run.sh"), user_dir=user)
    raw = bytearray(good.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    (tmp_path / "flip.zip").write_bytes(bytes(raw))
    with pytest.raises(ModelImportError):
        import_model(tmp_path / "flip.zip", user_dir=user)
    assert not user.exists() or not [p for p in user.iterdir() if not p.name.startswith(".")]
