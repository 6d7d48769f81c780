from __future__ import annotations

import math

import numpy as np

from medeid_gui.lab.metrics import dice, macro_auc, mean_std, r2, rankdata, roc_auc


def test_roc_auc_known_values():
    assert roc_auc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert roc_auc([0, 0, 1, 1], [0.9, 0.8, 0.2, 0.1]) == 0.0
    assert roc_auc([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5]) == 0.5
    # one positive ranked above 2 of 3 negatives -> 2/3
    assert abs(roc_auc([1, 0, 0, 0], [0.5, 0.1, 0.2, 0.9]) - 2 / 3) < 1e-12
    assert math.isnan(roc_auc([1, 1], [0.1, 0.2]))
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 20000)
    assert abs(roc_auc(y, rng.random(20000)) - 0.5) < 0.02


def test_macro_auc_skips_single_class_columns():
    y = np.array([[1, 0], [0, 0], [1, 0]])
    s = np.array([[0.9, 0.1], [0.1, 0.2], [0.8, 0.3]])
    assert macro_auc(y, s) == 1.0


def test_dice_and_r2():
    a = np.zeros((4, 4), bool)
    b = a.copy()
    a[:2] = True
    b[1:3] = True
    assert dice(a, b) == 0.5 and dice(a, a) == 1.0 and dice(~a & a, ~a & a) == 1.0
    t = np.array([1.0, 2.0, 3.0])
    assert r2(t, t) == 1.0 and r2(t, np.full(3, 2.0)) == 0.0 and r2(t, -t) < 0


def test_mean_std():
    m = mean_std([0.9, 1.0])
    assert m == {"mean": 0.95, "std": 0.05, "seeds": 2, "values": [0.9, 1.0]}


def test_rankdata_is_scipys_average_ranks() -> None:
    """The numpy ``rankdata`` (training and held-out evaluation run without scipy in the installer
    bundle) gives scipy's bytes: ties averaged, NaN propagated, 2-D flattened."""
    from scipy.stats import rankdata as scipy_rankdata

    rng = np.random.default_rng(0)
    for t in range(400):
        n = int(rng.integers(1, 300))
        a = rng.integers(0, int(rng.integers(1, 40)), n).astype(float) if t % 2 else rng.normal(size=n)
        if t % 5 == 0 and n % 2 == 0:
            a = a.reshape(2, -1)
        ours, ref = rankdata(a), scipy_rankdata(a, axis=None)
        assert ours.dtype == ref.dtype and np.array_equal(ours, ref), t
    assert np.isnan(rankdata(np.array([1.0, np.nan, 2.0]))).all()
    assert rankdata(np.array([3, 1, 2, 2])).tolist() == [4.0, 1.0, 2.5, 2.5]
    assert rankdata(np.array([], dtype=float)).size == 0
