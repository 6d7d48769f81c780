from __future__ import annotations

import csv
import json
import shutil
import subprocess

import numpy as np
import pydicom
import pytest

from medeid_gui.lab.cohort import (
    FINDING_BITS,
    CohortConfig,
    assign_splits,
    generate_cohort,
    load_split,
    read_labels,
)


def _pixels(root):
    return {r["image_id"]: pydicom.dcmread(root / r["file"]).pixel_array for r in read_labels(root)}


def test_same_seed_same_cohort_other_seed_differs(tmp_path, tiny_cohort):
    cfg = CohortConfig(patients=8, studies_per_patient=3, seed=7, size=64)
    again = tmp_path / "again"
    generate_cohort(again, cfg)
    a, b = _pixels(tiny_cohort), _pixels(again)
    assert a.keys() == b.keys()
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert (tiny_cohort / "labels.csv").read_text() == (again / "labels.csv").read_text()
    ma, mb = np.load(tiny_cohort / "masks.npz"), np.load(again / "masks.npz")
    assert all(np.array_equal(ma[k], mb[k]) for k in ma.files)
    for k in a:  # identical headers too (UIDs are derived from the seed)
        ha = pydicom.dcmread(tiny_cohort / "dicom" / k.split("_")[0] / f"{k.split('_')[1]}.dcm")
        hb = pydicom.dcmread(again / "dicom" / k.split("_")[0] / f"{k.split('_')[1]}.dcm")
        assert ha.SOPInstanceUID == hb.SOPInstanceUID and ha.PatientName == hb.PatientName
    other = tmp_path / "other"
    generate_cohort(other, CohortConfig(patients=8, studies_per_patient=3, seed=8, size=64))
    c = _pixels(other)
    assert not any(np.array_equal(x, y) for x, y in zip(a.values(), c.values()))


def test_splits_are_patient_disjoint_and_recorded(tiny_cohort):
    meta = json.loads((tiny_cohort / "cohort.json").read_text())
    sets = {k: set(v) for k, v in meta["splits"].items()}
    assert all(sets.values())
    assert not (sets["train"] & sets["val"] or sets["train"] & sets["test"]
                or sets["val"] & sets["test"])
    assert len(sets["train"] | sets["val"] | sets["test"]) == 8
    for row in read_labels(tiny_cohort):
        assert row["patient_id"] in sets[row["split"]]
    s = assign_splits(1000, 3, (0.6, 0.2, 0.2))
    assert abs(s.count("train") - 600) <= 1 and abs(s.count("test") - 200) <= 1


def test_dicom_files_are_valid_dx_with_planted_phi(tiny_cohort):
    rows = read_labels(tiny_cohort)
    for row in rows:
        ds = pydicom.dcmread(tiny_cohort / row["file"])
        assert ds.file_meta.MediaStorageSOPClassUID == ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.1.1"
        assert ds.Modality == "DX" and ds.BitsAllocated == 16 and ds.PhotometricInterpretation == "MONOCHROME2"
        assert ds.pixel_array.shape == (64, 64) and ds.pixel_array.dtype == np.uint16
        assert ds.PatientID == row["patient_id"]
        # realistic PHI the header de-identification must remove
        assert "^" in str(ds.PatientName) and ds.PatientBirthDate and ds.InstitutionName
        assert ds.AccessionNumber and ds.ReferringPhysicianName and ds.StudyDate
        assert any(e.tag.is_private for e in ds)
    if shutil.which("dciodvfy"):
        out = subprocess.run(["dciodvfy", str(tiny_cohort / rows[0]["file"])],
                             capture_output=True, text=True)
        errors = [ln for ln in (out.stdout + out.stderr).splitlines() if ln.startswith("Error")]
        assert not errors, errors


def test_labels_match_masks_and_lie_in_the_lungs(tiny_cohort):
    maps, lungs = np.load(tiny_cohort / "masks.npz"), np.load(tiny_cohort / "lungs.npz")
    seen = set()
    for row in read_labels(tiny_cohort):
        lm, lung = maps[row["image_id"]], lungs[row["image_id"]]
        for name, bit in FINDING_BITS.items():
            assert int(row[name]) == int(bool((lm & bit).any()))
            if int(row[name]):
                seen.add(name)
        assert not ((lm > 0) & (lung == 0)).any()
        assert abs(float(row["severity"]) - (lm > 0).sum() / max(lung.sum(), 1)) < 1e-5
    assert seen == set(FINDING_BITS)  # the tiny cohort exercises every finding


def test_load_split_arrays(tiny_cohort):
    s = load_split(tiny_cohort, "test", size=32)
    assert s.images.shape[1:] == (32, 32) and s.images.dtype == np.float32
    assert 0 <= s.images.min() and s.images.max() <= 1 and s.images.std() > 0.1
    assert len(s.patients) == len(s) == s.findings.shape[0] == s.masks.shape[0]
    assert s.masks.shape[1:] == (32, 32) and set(np.unique(s.masks)) <= {0, 1}
    full = load_split(tiny_cohort, "all")
    assert len(full) == 24 and full.images.shape[1:] == (64, 64)
    with pytest.raises(ValueError):
        load_split(tiny_cohort, "holdout")


def test_identity_lives_in_the_patient(tiny_cohort):
    """Two studies of one patient are closer than studies of different patients (on average)."""
    s = load_split(tiny_cohort, "all", size=32)
    x = s.images.reshape(len(s), -1)
    d = ((x[:, None] - x[None]) ** 2).mean(-1)
    same = s.patients[:, None] == s.patients[None]
    off = ~np.eye(len(s), dtype=bool)
    assert d[same & off].mean() < d[~same].mean()


def test_bad_input_is_refused(tmp_path):
    with pytest.raises(ValueError):
        generate_cohort(tmp_path / "a", CohortConfig(patients=2))
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("someone's file")
    with pytest.raises(FileExistsError):
        generate_cohort(busy, CohortConfig(patients=3, studies_per_patient=1, size=64))
    assert (busy / "keep.txt").read_text() == "someone's file"


def test_cli_cohort(tmp_path, capsys):
    from medeid_gui.cli import main

    assert main(["ml", "cohort", str(tmp_path / "c"), "--patients", "3",
                 "--studies-per-patient", "1", "--size", "64", "--seed", "2"]) == 0
    assert "3 images" in capsys.readouterr().out
    with open(tmp_path / "c" / "labels.csv", newline="") as fh:
        assert len(list(csv.DictReader(fh))) == 3
    assert main(["ml", "cohort", str(tmp_path / "d"), "--patients", "1"]) == 2


def test_regenerating_a_smaller_cohort_leaves_no_stale_files(tmp_path):
    root = tmp_path / "c"
    generate_cohort(root, CohortConfig(patients=4, studies_per_patient=2, size=64, seed=1))
    generate_cohort(root, CohortConfig(patients=3, studies_per_patient=1, size=64, seed=1))
    on_disk = sorted(p.relative_to(root).as_posix() for p in (root / "dicom").rglob("*.dcm"))
    assert on_disk == sorted(r["file"] for r in read_labels(root))
