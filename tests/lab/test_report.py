"""The report's curve comparison: medeid's utility at another method's attacker AUC."""

from __future__ import annotations

from medeid_gui.lab.report import curve_comparison


def _rows(points):
    return [{"p": p, "attacker_auc": {"mean": a, "std": 0.0}, "tasks": {"dice": u}}
            for p, a, u in points]


def test_curve_comparison_interpolates_and_finds_the_worst_point() -> None:
    methods = {
        "identity": _rows([(0, 0.98, 0.8), (1, 0.98, 0.8)]),
        "medeid": _rows([(0, 0.98, 0.8), (0.5, 0.8, 0.6), (1, 0.6, 0.5)]),
        # at a = 0.9 medeid gives 0.7 (> 0.65); at 0.7 it gives 0.55 (< 0.58); 0.55 is out of range
        "blur": _rows([(0, 0.98, 0.8), (0.5, 0.9, 0.65), (0.75, 0.7, 0.58), (1, 0.55, 0.1)]),
    }
    (row,) = curve_comparison(methods)
    assert row["method"] == "blur" and row["task"] == "dice"
    assert row["compared"] == 3 and row["at_least_as_good"] == 2 and row["out_of_range"] == 1
    assert abs(row["worst_margin"] - (0.55 - 0.58)) < 1e-9 and row["worst_p"] == 0.75


def test_curve_comparison_without_the_subject_is_empty() -> None:
    assert curve_comparison({"blur": _rows([(0, 0.9, 0.5)])}) == []
