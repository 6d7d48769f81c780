"""``medeid ml train`` on a tiny generated cohort: weights + manifest written and loadable,
checkpoints resume to the bit-identical result, a DICOM folder trains with PatientID labels."""

from __future__ import annotations

import json

import numpy as np
import pytest

from medeid_gui.lab.cohort import CohortConfig, generate_cohort
from medeid_gui.lab.train_method import STAGES, TrainConfig, parse_steps, train
from medeid_gui.ml.model import WEIGHT_FILES, load_model
from medeid_gui.ml.weights import read_manifest, sha256_file


@pytest.fixture(scope="module")
def tiny_cohort(tmp_path_factory):
    root = tmp_path_factory.mktemp("cohort")
    generate_cohort(root, CohortConfig(patients=6, studies_per_patient=2, size=64, seed=3))
    return root


def _cfg(data, out, work, steps=2, **kw) -> TrainConfig:
    return TrainConfig(data=str(data), out=str(out), work=str(work), seed=1, device="cpu",
                       batch=8, ssl_batch=4, comp_batch=2, steps={s: steps for s in STAGES},
                       ckpt_every=1, threads=1, **kw)


class _Stop(Exception):
    pass


def test_train_writes_verified_weights_and_resumes_identically(tiny_cohort, tmp_path) -> None:
    out_a = tmp_path / "a"
    summary = train(_cfg(tiny_cohort, out_a, tmp_path / "wa"), fresh=True, log=lambda m: None)
    man = read_manifest(out_a)["files"]
    assert set(WEIGHT_FILES) <= set(man)
    info = json.loads((out_a / "medeid-training.json").read_text())
    assert info["metrics"]["n_images"] >= 2 and "rate_nats_per_image" in info["metrics"]
    assert summary["config"]["seed"] == 1
    card = (out_a / "medeid-compensator.md").read_text()
    assert "Generated cohort, not patients" in card and man["medeid-compensator.pt"]["sha256"] in card
    model = load_model(out_a, device="cpu")
    frame = np.random.default_rng(0).integers(0, 4000, (90, 70)).astype(np.uint16)
    from medeid_gui.ml.deidentify import deidentify

    out, _, mask = deidentify(frame, 0.5, model=model)
    assert out.dtype == np.uint16 and 0.4 < mask.mean() < 0.6

    # interrupted inside the "mdl" stage right after a checkpoint, then resumed
    out_b, work_b = tmp_path / "b", tmp_path / "wb"

    def stop_in_mdl(msg: str) -> None:
        if msg.startswith("[mdl] 1/"):
            raise _Stop

    with pytest.raises(_Stop):
        train(_cfg(tiny_cohort, out_b, work_b), fresh=True, log=stop_in_mdl)
    assert not (out_b / "manifest.json").exists()
    lines: list[str] = []
    train(_cfg(tiny_cohort, out_b, work_b), log=lines.append)
    assert any(line.startswith("resuming") for line in lines)
    assert not any(line.startswith("[reid]") for line in lines)  # finished stages are not redone
    for name in WEIGHT_FILES:
        assert sha256_file(out_a / name) == sha256_file(out_b / name), name

    # re-running the last stage from its snapshot reproduces it exactly
    sums = {n: sha256_file(out_b / n) for n in WEIGHT_FILES}
    train(_cfg(tiny_cohort, out_b, work_b), redo=("comp",), log=lambda m: None)
    assert sums == {n: sha256_file(out_b / n) for n in WEIGHT_FILES}

    # a checkpoint of another configuration is refused instead of silently mixed
    with pytest.raises(RuntimeError, match="another configuration"):
        train(_cfg(tiny_cohort, tmp_path / "c", work_b, steps=3), log=lambda m: None)


def test_train_on_dicom_folder_uses_patient_id(tiny_cohort, tmp_path) -> None:
    from medeid_gui.lab.method_data import load_dicom_folder

    data = load_dicom_folder(tiny_cohort / "dicom")
    assert len(data) == 12 and data.n_ids == 6 and data.findings is None
    assert data.images.shape[1:] == (128, 128) and data.images.dtype == np.float32
    train(_cfg(tiny_cohort / "dicom", tmp_path / "o", tmp_path / "w", steps=1), fresh=True,
          log=lambda m: None)
    load_model(tmp_path / "o", device="cpu")


def test_dicom_folder_needs_two_patients(tmp_path) -> None:
    from pydicom.data import get_testdata_file

    from medeid_gui.lab.method_data import load_dicom_folder

    import shutil

    shutil.copy(get_testdata_file("CT_small.dcm"), tmp_path / "a.dcm")
    with pytest.raises(ValueError, match="two patients"):
        load_dicom_folder(tmp_path)


def test_parse_steps() -> None:
    assert parse_steps("reid=5, comp=7") == {"reid": 5, "comp": 7}
    with pytest.raises(ValueError):
        parse_steps("nope=3")
