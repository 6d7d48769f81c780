"""sha256 manifest: weights are verified before loading; any mismatch is refused clearly."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from medeid_gui.ml.model import COMPENSATOR_FILE, WEIGHT_FILES, export_states, load_model
from medeid_gui.ml.weights import WeightsError, read_manifest, save_state, sha256_file, verify


@pytest.fixture()
def saved(tmp_path, random_model):
    d = tmp_path / "models"
    for name, state in export_states(random_model).items():
        save_state(d, name, state, model=name[:-3])
    return d


def test_manifest_records_every_file(saved) -> None:
    files = read_manifest(saved)["files"]
    assert set(files) == set(WEIGHT_FILES)
    for name, entry in files.items():
        assert entry["sha256"] == sha256_file(saved / name)
        assert entry["bytes"] == (saved / name).stat().st_size


def test_saved_model_loads_and_runs(saved, random_model) -> None:
    m = load_model(saved, device="cpu")
    x = np.random.default_rng(0).random((70, 90)).astype(np.float32)
    from medeid_gui.ml.deidentify import deidentify

    a = deidentify(x, 0.5, seed=3, model=m)
    b = deidentify(x, 0.5, seed=3, model=random_model)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[2], b[2])


def test_tampered_weights_refused(saved, tmp_path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(saved, copy)
    target = copy / COMPENSATOR_FILE
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0xFF
    target.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="does not match manifest.json"):
        verify(copy, COMPENSATOR_FILE)
    with pytest.raises(WeightsError, match="sha256"):
        load_model(copy, device="cpu")
    # the original folder is untouched and still loads
    load_model(saved, device="cpu")


def test_unlisted_missing_and_no_manifest(saved, tmp_path) -> None:
    copy = tmp_path / "copy2"
    shutil.copytree(saved, copy)
    man = json.loads((copy / "manifest.json").read_text())
    del man["files"][COMPENSATOR_FILE]
    (copy / "manifest.json").write_text(json.dumps(man))
    with pytest.raises(WeightsError, match="not listed"):
        load_model(copy, device="cpu")
    (copy / WEIGHT_FILES[0]).unlink()
    with pytest.raises(WeightsError, match="missing"):
        verify(copy, WEIGHT_FILES[0])
    (copy / "manifest.json").unlink()
    with pytest.raises(WeightsError, match="no manifest.json"):
        verify(copy, WEIGHT_FILES[1])
