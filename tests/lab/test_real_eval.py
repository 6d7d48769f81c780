"""``medeid ml evaluate-real`` on a tiny subset of the real set, and its acceptance checks.

The command test needs ``../shared/real/cxr`` (skipped without it) and runs in well under a
minute: 20 test images, 40 train images, two levels, tiny networks.
"""

from __future__ import annotations

import json

import pytest

from medeid_gui.cli import main
from medeid_gui.lab.real_cxr import default_root
from medeid_gui.lab.real_eval_checks import check_all, check_attacker, utility

REAL = default_root()


def _row(p: float, auc: float, tasks: dict[str, float]) -> dict:
    return {"p": p, "attack": {"a": {"auc": auc, "lo": auc, "hi": auc}}, "tasks": tasks}


def _report(medeid: list[tuple[float, float, float]], rb: list[tuple[float, float, float]]) -> dict:
    """(p, auc, task score) rows for medeid and random-block."""
    return {"results": {
        "medeid": [_row(p, a, {"t": s}) for p, a, s in medeid],
        "random-block": [_row(p, a, {"t": s}) for p, a, s in rb],
    }}


def test_checks_pass_for_a_method_that_dominates():
    rep = _report([(0, 0.9, 1.0), (0.25, 0.7, 0.98), (0.5, 0.6, 0.95), (1, 0.55, 0.9)],
                  [(0, 0.9, 1.0), (0.25, 0.85, 0.9), (0.5, 0.75, 0.7), (1, 0.5, 0.2)])
    c = check_attacker(rep, "a")
    assert c["monotone"] and c["auc_p1_ok"]
    assert c["below_random_block"] == {"0.25": True, "0.5": True}
    assert c["equal_auc"]["random-block"]["ok"]
    assert check_all(rep)["tasks_p1"]["t"] == {"share": 0.9, "informative": True, "ok": True}
    assert utility(rep, "medeid") == pytest.approx([1.0, 0.98, 0.95, 0.9])


def test_checks_fail_where_the_method_loses():
    rep = _report([(0, 0.9, 1.0), (0.25, 0.95, 0.5), (0.5, 0.8, 0.5), (1, 0.7, 0.5)],
                  [(0, 0.9, 1.0), (0.25, 0.85, 0.9), (0.5, 0.75, 0.9), (1, 0.5, 0.9)])
    c = check_attacker(rep, "a")
    assert not c["monotone"] and not c["auc_p1_ok"]
    assert c["below_random_block"] == {"0.25": False, "0.5": False}
    eq = c["equal_auc"]["random-block"]
    assert not eq["ok"] and [w["p"] for w in eq["worse_at"]] == [0.5, 1]
    assert eq["not_comparable_at"] == [0.25]  # AUC 0.95 is above every random-block AUC
    assert check_all(rep)["tasks_p1"]["t"]["ok"] is False


def test_a_task_at_chance_on_originals_is_left_out_of_utility():
    rep = _report([(0, 0.9, 1.0), (1, 0.55, 0.5)], [(0, 0.9, 1.0), (1, 0.5, 0.2)])
    for method, rows in rep["results"].items():
        for r, auc in zip(rows, (0.52, 0.9 if method == "medeid" else 0.3)):
            r["tasks"]["finding_auc"] = auc  # 0.52 on originals: chance
    assert utility(rep, "medeid") == pytest.approx([1.0, 0.5])
    p1 = check_all(rep)["tasks_p1"]
    assert p1["finding_auc"]["informative"] is False and p1["finding_auc"]["ok"] is None
    assert p1["t"]["ok"] is False


@pytest.mark.skipif(REAL is None, reason="real CXR set not present at ../shared/real/cxr")
def test_evaluate_real_command_on_a_tiny_subset(tmp_path, capsys):
    args = ["ml", "evaluate-real", "--out", str(tmp_path), "--stem", "R", "--levels", "0", "0.25", "1",
            "--method", "random-block", "--max-test", "20", "--max-train", "40", "--size", "64",
            "--pretrain-steps", "0", "--finetune-steps", "3", "--task-epochs", "1", "--n-boot", "10",
            "--cohort", "", "--cache", str(tmp_path / "cache")]
    assert main(args) == 0
    rep = json.loads((tmp_path / "R.json").read_text())
    assert (tmp_path / "R.png").stat().st_size > 1000
    md = (tmp_path / "R.md").read_text()
    assert "## Acceptance checks" in md and "random-block" in md
    assert set(rep["results"]) == {"medeid", "random-block"}
    assert rep["data"]["test_images"] == 20
    med, rb = rep["results"]["medeid"], rep["results"]["random-block"]
    assert [r["p"] for r in med] == [0.0, 0.25, 1.0]
    # p = 0 releases the originals unchanged: every attacker scores as on the originals
    for k in ("thumb16", "geometry", "network"):
        assert med[0]["attack"][k]["auc"] == pytest.approx(rep["originals"][k]["auc"])
    assert med[0]["tasks"] == rb[0]["tasks"]
    # pixel methods keep the image size, so geometry identifies as well at p = 1
    assert med[2]["attack"]["geometry"]["auc"] == pytest.approx(rep["originals"]["geometry"]["auc"])
    # random blocking at p = 1 leaves a flat grey image: the thumbnails carry nothing
    assert rb[2]["attack"]["thumb16"]["auc"] == pytest.approx(0.5)
    assert med[2]["fill"]["images"] == 20
    # at .25 the method is compared with random blocking pair by pair: the paired difference is
    # the two AUCs' difference, with a CI from the same patient resamples
    d = rep["paired_vs_random_block"]["thumb16"]["0.25"]
    assert d[0] == pytest.approx(med[1]["attack"]["thumb16"]["auc"] - rb[1]["attack"]["thumb16"]["auc"], abs=1e-4)
    assert d[1] <= d[0] <= d[2] and "paired bootstrap" in md
    # a second run reuses the trained attacker and tasks: the same figures on originals
    capsys.readouterr()
    assert main([*args[:5], "R2", "--levels", "0", *args[10:]]) == 0
    assert "from the cache" in capsys.readouterr().out
    rep2 = json.loads((tmp_path / "R2.json").read_text())
    assert rep2["originals"]["network"] == rep["originals"]["network"]
    assert rep2["results"]["medeid"][0]["tasks"] == med[0]["tasks"]
    (tmp_path / "R.md").unlink()
    assert main(["ml", "evaluate-real", "--out", str(tmp_path), "--stem", "R", "--report-only"]) == 0
    assert (tmp_path / "R.md").read_text().startswith("# Real chest radiographs")
    assert main(["ml", "evaluate-real", "--method", "nope", "--out", str(tmp_path)]) == 2
    assert "unknown method" in capsys.readouterr().err
