"""The risk readout per image (ml.model_registry.risk_readout): non-increasing in the privacy level
on the demo studies and on the generated cohort's test split, "not assessed" outside a domain."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file

from medeid_gui.ml.domain import facts_of
from medeid_gui.ml.model_registry import installed_models, risk_readout
from medeid_gui.ml.risk import NOT_ASSESSED
from tests.corpora import deid_data_file

LEVELS = np.linspace(0.0, 1.0, 21)
COHORT = Path(__file__).resolve().parents[2] / "out" / "cohort"


@pytest.fixture(scope="module")
def models():
    return installed_models(user_dir=Path("/nonexistent-medeid-user-models"))


def _facts(path: Path):
    return facts_of(pydicom.dcmread(path, stop_before_pixels=True))


def _check_monotone(path: Path, models) -> None:
    readouts = [risk_readout(_facts(path), float(p), models) for p in LEVELS]
    aucs = [r.auc for r in readouts]
    assert all(a is not None for a in aucs), path
    assert all(b <= a + 1e-12 for a, b in zip(aucs, aucs[1:])), (path, aucs)
    assert readouts[0].word == "high" and readouts[-1].word == "low"
    assert aucs[-1] < aucs[0]


def test_non_increasing_on_the_demo_studies(models):
    from medeid_gui._resources import resource

    files = sorted(p for p in resource("demo", "dicom").rglob("*.dcm"))
    assert len(files) >= 4
    for path in files:
        _check_monotone(path, models)


@pytest.mark.skipif(not (COHORT / "labels.csv").is_file(), reason="out/cohort not generated (medeid ml cohort)")
def test_non_increasing_on_the_cohort_test_split(models):
    from medeid_gui.lab.cohort import read_labels

    rows = [r for r in read_labels(COHORT) if r["split"] == "test"]
    assert len(rows) >= 20
    for row in rows:
        _check_monotone(COHORT / row["file"], models)


@pytest.mark.parametrize("path", [
    lambda: get_testdata_file("693_UNCR.dcm"),
    lambda: get_testdata_file("MR_small.dcm"),
    lambda: deid_data_file("humans", "ctbrain1.dcm"),
    lambda: deid_data_file("ultrasounds", "GREYSCALE_IMAGE.dcm"),
    lambda: get_testdata_file("RG3_UNCR.dcm"),  # CR, but an extremity
])
def test_not_assessed_outside_a_domain(path, models):
    for p in (0.0, 0.5, 1.0):
        r = risk_readout(_facts(Path(path())), p, models)
        assert r == NOT_ASSESSED and r.auc is None and r.word == "not assessed"
