from __future__ import annotations

import math

import numpy as np
import pytest

from medeid_gui.lab.attacker import AttackerConfig, attack, evaluate_attacker, train_attacker
from medeid_gui.lab.cohort import load_split


def test_attacker_trains_end_to_end_and_learns_identity(tiny_cohort):
    tr = load_split(tiny_cohort, "train", size=64)
    te = load_split(tiny_cohort, "val", size=64)  # 2 patients
    cfg = AttackerConfig(steps=80, batch_patients=5, width=8, dim=32, lr=3e-3)
    model = train_attacker(tr.images, tr.images, tr.patients, seed=0, config=cfg, dev="cpu")
    # fitted: the training patients are told apart well above chance
    assert evaluate_attacker(model, tr.images, tr.images, tr.patients, dev="cpu") > 0.75
    r = attack(tr.images, tr.images, tr.patients, te.images, te.images, te.patients, seed=0,
               config=AttackerConfig(steps=2, batch_patients=5, width=8, dim=32), dev="cpu")
    assert math.isfinite(r.auc) and 0 <= r.auc <= 1
    n = len(te)
    assert r.n_pairs == n * (n - 1)


def test_attacker_is_deterministic_per_seed(tiny_cohort):
    tr = load_split(tiny_cohort, "train", size=32)
    cfg = AttackerConfig(steps=3, batch_patients=4, width=4, dim=8)
    a = [train_attacker(tr.images, tr.images, tr.patients, seed=s, config=cfg, dev="cpu")
         for s in (1, 1, 2)]
    sd = [m.state_dict()["embed.weight"].numpy() for m in a]
    assert np.array_equal(sd[0], sd[1]) and not np.array_equal(sd[0], sd[2])


def test_attacker_refuses_unusable_labels(tiny_cohort):
    tr = load_split(tiny_cohort, "train", size=32)
    one = np.zeros(len(tr), dtype=np.int64)
    with pytest.raises(ValueError):
        train_attacker(tr.images, tr.images, one, seed=0, config=AttackerConfig(steps=1))
    with pytest.raises(ValueError):
        train_attacker(tr.images, tr.images[:-1], tr.patients, seed=0)


def test_attacker_on_a_dicom_folder_with_patient_ids(tiny_cohort):
    """Any DICOM folder works; PatientID is the label (here the cohort's own files)."""
    from medeid_gui.lab.imageset import load_dicom_folder, patient_split

    (tiny_cohort / "dicom" / "notes.txt").write_text("not a DICOM file")
    try:
        s = load_dicom_folder(tiny_cohort / "dicom", size=32)
    finally:
        (tiny_cohort / "dicom" / "notes.txt").unlink()
    assert s.images.shape == (24, 32, 32) and len(s.patient_ids) == 8
    assert [p for p, _ in s.skipped] == [str(tiny_cohort / "dicom" / "notes.txt")]
    trm, tem = patient_split(s.patients, 0.3, 0)
    assert not set(s.patients[trm]) & set(s.patients[tem])
