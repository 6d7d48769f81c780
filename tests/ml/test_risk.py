"""The risk readout: words and a number from the measured attacker curve, non-increasing in p."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from medeid_gui._resources import models_dir
from medeid_gui.ml.risk import NOT_ASSESSED, RiskCurve, read_risk_curve


def _shipped() -> RiskCurve:
    curve = read_risk_curve(json.loads((Path(models_dir()) / "manifest.json").read_text()))
    assert curve is not None
    return curve


def test_shipped_curve_is_the_evaluation() -> None:
    ev = json.loads((Path(models_dir()) / "evaluation.json").read_text())
    rows = ev["methods"]["medeid"]
    curve = _shipped()
    assert curve.levels == tuple(r["p"] for r in rows)
    assert curve.auc == tuple(r["attacker_auc"]["mean"] for r in rows)
    assert "generated cohort" in curve.measured_on


def test_readout_is_non_increasing_and_honest_at_the_ends() -> None:
    curve = _shipped()
    levels = np.linspace(0, 1, 101)
    aucs = [curve.readout(float(p)).auc for p in levels]
    assert all(b <= a for a, b in zip(aucs, aucs[1:]))
    assert curve.readout(0.0).word == "high" and curve.readout(0.0).auc == pytest.approx(0.9765)
    assert curve.readout(1.0).word == "low"
    assert "50 = guessing" in curve.readout(0.5).tooltip


def test_a_non_monotone_measurement_never_reads_riskier_at_a_higher_level() -> None:
    curve = RiskCurve((0.0, 0.5, 1.0), (0.9, 0.6, 0.7), "test")
    assert curve.auc_at(1.0) == pytest.approx(0.6)
    assert curve.readout(0.75).word == "low"


def test_not_assessed_and_bad_curves() -> None:
    assert NOT_ASSESSED.auc is None and "not assessed" in NOT_ASSESSED.text
    assert read_risk_curve({"files": {}}) is None
    with pytest.raises(ValueError):
        RiskCurve((0.0,), (0.9,), "x")
    with pytest.raises(ValueError):
        RiskCurve((0.5, 0.0, 1.0), (0.9, 0.8, 0.7), "x")
