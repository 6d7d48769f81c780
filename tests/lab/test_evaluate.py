from __future__ import annotations

import json
import math

import pytest

from medeid_gui.lab.attacker import AttackerConfig
from medeid_gui.lab.evaluate import EvalConfig, run_evaluation
from medeid_gui.lab.tasks import TaskConfig

TINY = EvalConfig(patients=10, studies_per_patient=2, cohort_seed=3, size=64, work_size=32,
                  attacker_seeds=(0, 1, 2), attacker=AttackerConfig(steps=3, batch_patients=4),
                  tasks=TaskConfig(epochs=1, batch=8, width=4, unet_width=4))


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    work, out = tmp_path_factory.mktemp("work"), tmp_path_factory.mktemp("out")
    lines: list[str] = []
    report = run_evaluation(work, out, ["identity", "blur"], (0.0, 1.0), TINY,
                            dev="cpu", log=lines.append)
    return work, out, report, lines


def test_report_has_the_documented_shape(evaluated):
    _, out, report, _ = evaluated
    data = json.loads((out / "evaluation.json").read_text())
    assert data == json.loads(json.dumps(report))
    a = data["attacker_auc_originals"]
    assert a["seeds"] == 3 and 0 <= a["mean"] <= 1 and a["std"] >= 0
    assert set(data["tasks_originals"]) == {"classification_auc", "segmentation_dice", "severity_r2"}
    for name in ("identity", "blur"):
        rows = data["methods"][name]
        assert [r["p"] for r in rows] == [0.0, 1.0]
        for r in rows:
            assert set(r["attacker_auc"]) >= {"mean", "std"}
            assert set(r["tasks"]) == set(data["tasks_originals"])
    assert data["versions"]["torch"] and data["config"]["attacker_seeds"] == [0, 1, 2]
    assert (out / "EVALUATION.md").read_text().count("| blur |") == 2
    assert (out / "evaluation.png").stat().st_size > 10_000


def test_unchanged_images_reuse_the_originals(evaluated):
    _, _, data, _ = evaluated
    ident = data["methods"]["identity"]
    for r in ident + [data["methods"]["blur"][0]]:  # p = 0 of any method is the original
        assert r["attacker_auc"]["mean"] == data["attacker_auc_originals"]["mean"]
        assert r["tasks"] == data["tasks_originals"]
    assert data["methods"]["blur"][1]["mean_abs_change"] > 0


def test_resumes_from_the_cache(evaluated):
    work, out, first, _ = evaluated
    lines: list[str] = []
    again = run_evaluation(work, out, ["blur"], (1.0,), TINY, dev="cpu", log=lines.append)
    assert not any("attacker" in ln for ln in lines)  # nothing retrained
    assert again["methods"]["blur"] == first["methods"]["blur"]
    assert math.isfinite(again["attacker_auc_originals"]["mean"])
    assert "identity" in again["methods"]  # earlier results stay in the report


def test_unknown_method_fails_before_any_work(tmp_path):
    with pytest.raises(KeyError):
        run_evaluation(tmp_path / "w", tmp_path / "o", ["no-such-method"], (0.0,), TINY)
    assert not (tmp_path / "w").exists()


def test_report_only_rerenders_from_the_json(evaluated, capsys):
    from medeid_gui.cli import main

    _, out, _, _ = evaluated
    (out / "EVALUATION.md").unlink()
    assert main(["ml", "evaluate", "--report-only", "--out", str(out)]) == 0
    assert "| identity |" in (out / "EVALUATION.md").read_text()


def test_a_new_method_version_invalidates_its_cache(evaluated):
    from medeid_gui.lab import baselines
    from medeid_gui.lab.registry import register_method

    work, out, first, _ = evaluated
    lines: list[str] = []
    register_method("blur", baselines.blur, version="2")
    try:
        again = run_evaluation(work, out, ["blur"], (1.0,), TINY, dev="cpu", log=lines.append)
    finally:
        register_method("blur", baselines.blur)
    assert any("version changed" in ln for ln in lines)
    row = again["methods"]["blur"][-1]
    assert row["method_version"] == "2"
    # same pixels, so the attacker's content-keyed cache still answers: same numbers
    assert row["attacker_auc"] == first["methods"]["blur"][-1]["attacker_auc"]
