"""The acceptance checks of issue #15 on a real-set evaluation's results.

Why separate from the measuring: the checks are the claims, and a reader of
``models/EVALUATION_REAL.md`` must be able to see exactly what each one compares. All take the
dict of :func:`medeid_gui.lab.real_eval.run_real_evaluation` and use no randomness.

- monotone: the method's AUC never rises by more than ``MONO_TOL`` from one level to the next;
- ``auc_p1``: AUC at p = 1 at most 0.60;
- below random blocking at p = .25 and .5 (strictly lower AUC);
- at least as good as every baseline at equal AUC: at each level p > 0 of the method, the
  baseline's utility interpolated (linearly, in AUC) at the method's AUC is not above the
  method's utility by more than ``UTIL_TOL``; a method AUC outside the baseline's range of AUCs
  is not comparable and is listed as such;
- tasks at p = 1 keep at least 85 % of their score on originals.
Utility is the mean over the *informative* tasks of score / score on originals: a task whose
model does not beat chance on the originals (``CHANCE`` or below) measures nothing, and its
ratios are noise, so it is listed but left out of the utility and of the 85 % check.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["MAX_AUC_P1", "MIN_TASK_SHARE", "check_all", "utility"]

MONO_TOL = 0.02
UTIL_TOL = 0.01
MAX_AUC_P1 = 0.60
MIN_TASK_SHARE = 0.85
#: a task's score on originals must exceed this to count (AUC: chance + 0.1; r: weak; Dice)
CHANCE = {"finding_auc": 0.6, "severity_r": 0.3, "lung_dice": 0.5}


def informative(report: dict, method: str = "medeid") -> dict[str, bool]:
    """Per task: does its model beat chance on the originals (the p = 0 row)?"""
    base = _rows(report, method)[0]["tasks"]
    return {k: bool(math.isfinite(v) and v > CHANCE.get(k, 0.0)) for k, v in base.items()}


def _rows(report: dict, method: str) -> list[dict]:
    return sorted(report["results"][method], key=lambda r: r["p"])


def task_shares(report: dict, method: str) -> list[dict[str, float]]:
    """Per level, each task's score as a share of its score on originals (the p = 0 row)."""
    rows = _rows(report, method)
    base = rows[0]["tasks"]
    out = []
    for r in rows:
        out.append({k: (v / base[k] if base[k] and math.isfinite(v) and math.isfinite(base[k]) else float("nan"))
                    for k, v in r["tasks"].items()})
    return out


def utility(report: dict, method: str) -> list[float]:
    keep = [k for k, ok in informative(report, method).items() if ok]
    return [float(np.nanmean([s[k] for k in keep])) if keep else float("nan")
            for s in task_shares(report, method)]


def _equal_auc(report: dict, method: str, baseline: str, attacker: str) -> dict:
    m_rows, b_rows = _rows(report, method), _rows(report, baseline)
    m_auc = [r["attack"][attacker]["auc"] for r in m_rows]
    b_auc = np.array([r["attack"][attacker]["auc"] for r in b_rows])
    m_u, b_u = utility(report, method), np.array(utility(report, baseline))
    order = np.argsort(b_auc)
    worse, outside = [], []
    for k, r in enumerate(m_rows):
        if r["p"] == 0:
            continue
        if not (b_auc.min() <= m_auc[k] <= b_auc.max()):
            outside.append(r["p"])
            continue
        bu = float(np.interp(m_auc[k], b_auc[order], b_u[order]))
        if bu > m_u[k] + UTIL_TOL:
            worse.append({"p": r["p"], "auc": round(m_auc[k], 4), "method_utility": round(m_u[k], 4),
                          "baseline_utility": round(bu, 4)})
    return {"ok": not worse, "worse_at": worse, "not_comparable_at": outside}


def check_attacker(report: dict, attacker: str, method: str = "medeid") -> dict:
    rows = _rows(report, method)
    auc = {r["p"]: r["attack"][attacker]["auc"] for r in rows}
    seq = [auc[p] for p in sorted(auc)]
    out: dict = {"aucs": {str(p): round(a, 4) for p, a in auc.items()},
                 "monotone": all(b <= a + MONO_TOL for a, b in zip(seq, seq[1:])),
                 "strictly_monotone": all(b <= a for a, b in zip(seq, seq[1:]))}
    if 1.0 in auc:
        out["auc_p1_ok"] = auc[1.0] <= MAX_AUC_P1
    if "random-block" in report["results"]:
        rb = {r["p"]: r["attack"][attacker]["auc"] for r in _rows(report, "random-block")}
        out["below_random_block"] = {str(p): auc[p] < rb[p] for p in (0.25, 0.5) if p in auc and p in rb}
    out["equal_auc"] = {b: _equal_auc(report, method, b, attacker)
                        for b in report["results"] if b != method}
    return out


def check_all(report: dict, method: str = "medeid") -> dict:
    attackers = list(_rows(report, method)[0]["attack"])
    checks = {"attackers": {a: check_attacker(report, a, method) for a in attackers}}
    shares = task_shares(report, method)
    p1 = [s for s, r in zip(shares, _rows(report, method)) if r["p"] == 1.0]
    info = informative(report, method)
    if p1:
        checks["tasks_p1"] = {k: {"share": round(v, 4), "informative": info[k],
                                  "ok": bool(v >= MIN_TASK_SHARE) if info[k] else None}
                              for k, v in p1[0].items()}
    return checks
