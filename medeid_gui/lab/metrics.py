"""Scores used by the evaluation, in plain numpy (no scikit-learn dependency).

Why here: every number in ``models/evaluation.json`` comes from these few functions, so they are
small enough to check by hand and are tested against known values.  No scipy either: a site's
``medeid ml train`` (held-out evaluation included) runs in the installer bundle, which leaves
scipy out (packaging/medeid.spec); ``rankdata`` is scipy's operation for operation.
"""

from __future__ import annotations

import numpy as np


def rankdata(values: np.ndarray) -> np.ndarray:
    """Ranks from 1 with ties averaged, as ``scipy.stats.rankdata(values)`` (its "average"
    method, flattened; all NaN when a value is NaN, as scipy's default ``nan_policy``)."""
    arr = np.ravel(np.asarray(values))
    if arr.dtype.kind in "fc" and np.isnan(arr).any():
        return np.full(arr.shape, np.nan)
    sorter = np.argsort(arr, kind="quicksort")
    inv = np.empty(sorter.size, dtype=np.intp)
    inv[sorter] = np.arange(sorter.size, dtype=np.intp)
    arr = arr[sorter]
    obs = np.r_[True, arr[1:] != arr[:-1]]
    dense = obs.cumsum()[inv]
    count = np.r_[np.nonzero(obs)[0], len(obs)]
    return 0.5 * (count[dense] + count[dense - 1] + 1)


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney U with tied ranks averaged); NaN if one class."""
    y = np.asarray(labels).astype(bool).ravel()
    s = np.asarray(scores, dtype=np.float64).ravel()
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    r = rankdata(s)
    return float((r[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def macro_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Mean AUC over the columns that have both classes."""
    vals = [roc_auc(labels[:, j], scores[:, j]) for j in range(labels.shape[1])]
    vals = [v for v in vals if not np.isnan(v)]
    return float(np.mean(vals)) if vals else float("nan")


def dice(pred: np.ndarray, target: np.ndarray) -> float:
    """Pooled Dice over all pixels of all images (1.0 when both are empty)."""
    p = np.asarray(pred).astype(bool)
    t = np.asarray(target).astype(bool)
    denom = p.sum() + t.sum()
    return 1.0 if denom == 0 else float(2.0 * (p & t).sum() / denom)


def r2(target: np.ndarray, pred: np.ndarray) -> float:
    """Coefficient of determination (1 perfect, 0 = predicting the mean, can be negative)."""
    t = np.asarray(target, dtype=np.float64).ravel()
    p = np.asarray(pred, dtype=np.float64).ravel()
    ss_tot = ((t - t.mean()) ** 2).sum()
    return float("nan") if ss_tot == 0 else float(1.0 - ((t - p) ** 2).sum() / ss_tot)


def mean_std(values: list[float]) -> dict:
    a = np.asarray(values, dtype=np.float64)
    return {"mean": round(float(a.mean()), 4), "std": round(float(a.std(ddof=0)), 4),
            "seeds": int(a.size), "values": [round(float(v), 4) for v in a]}
