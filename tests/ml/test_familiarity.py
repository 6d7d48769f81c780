"""The unfamiliar-image score: Mahalanobis distance to training features, threshold from held-out."""

from __future__ import annotations

import json

import numpy as np
import pytest

from medeid_gui.ml.familiarity import FamiliarityModel, fit_familiarity, pooled_features


def _gauss(n: int, d: int, seed: int, shift: float = 0.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    mix = rng.standard_normal((d, d)) * 0.3 + np.eye(d)
    return rng.standard_normal((n, d)) @ mix + shift


def test_threshold_flags_about_one_in_a_hundred_familiar_and_all_shifted() -> None:
    fam = fit_familiarity(_gauss(400, 16, 0), _gauss(300, 16, 1))
    fresh = np.array([fam.score(v).unfamiliar for v in _gauss(2000, 16, 2)])
    assert 0.002 <= fresh.mean() <= 0.04
    shifted = np.array([fam.score(v).unfamiliar for v in _gauss(200, 16, 3, shift=5.0)])
    assert shifted.mean() > 0.95
    assert fam.calibration["heldout_images"] == 300


def test_pooled_features_and_shapes() -> None:
    f = np.arange(2 * 3 * 4, dtype=np.float32).reshape(1, 2, 3, 4)
    v = pooled_features(f)
    assert v.shape == (4,)
    assert v[0] == pytest.approx(5.5) and v[2] == pytest.approx(np.arange(12).std())
    with pytest.raises(ValueError):
        pooled_features(np.zeros((2, 2, 3, 4)))
    fam = fit_familiarity(_gauss(50, 4, 0), _gauss(20, 4, 1))
    with pytest.raises(ValueError, match="expects"):
        fam.distance(np.zeros(5))


def test_json_round_trip_and_refusal() -> None:
    fam = fit_familiarity(_gauss(60, 6, 0), _gauss(30, 6, 1))
    back = FamiliarityModel.from_json(json.loads(json.dumps(fam.to_json())))
    v = _gauss(1, 6, 9)[0]
    assert back.distance(v) == pytest.approx(fam.distance(v))
    with pytest.raises(ValueError, match="incomplete"):
        FamiliarityModel.from_json({"mean": [0.0]})
    with pytest.raises(ValueError):
        fit_familiarity(_gauss(5, 6, 0), _gauss(30, 6, 1))


def test_shipped_statistics_know_the_demo_and_flag_real_radiographs() -> None:
    """Demo studies (the training distribution) are familiar; a real chest CR is not."""
    torch = pytest.importorskip("torch")
    pydicom_data = pytest.importorskip("pydicom.data")
    from pathlib import Path

    from medeid_gui._resources import models_dir, resource
    from medeid_gui.dicom.frames import FrameSource
    from medeid_gui.ml.deidentify import analyse
    from medeid_gui.ml.familiarity import load_familiarity
    from medeid_gui.ml.model import default_model

    torch.set_num_threads(1)
    fam = load_familiarity(models_dir())
    assert fam is not None and fam.calibration["heldout_flagged"] <= 0.02
    model = default_model("cpu")

    def score(frame: np.ndarray):
        return fam.score(pooled_features(analyse(frame, model).features.float().cpu().numpy()))

    demo = sorted(Path(resource("demo", "dicom")).rglob("*.dcm"))[:4]
    assert demo and not any(score(FrameSource(str(p)).frame(0)).unfamiliar for p in demo)
    rg1 = pydicom_data.get_testdata_file("RG1_UNCR.dcm")
    if rg1 is None:
        pytest.skip("pydicom-data not installed")
    flagged = score(FrameSource(rg1).frame(0))
    assert flagged.unfamiliar and flagged.note == "unfamiliar image: findings may not be kept"
