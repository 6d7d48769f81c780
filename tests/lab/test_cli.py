from __future__ import annotations

from medeid_gui.cli import main


def test_ml_without_subcommand_prints_help(capsys):
    assert main(["ml"]) == 2
    out = capsys.readouterr().out
    for sub in ("cohort", "attacker", "tasks", "evaluate"):
        assert sub in out


def test_evaluate_lists_registered_methods(capsys):
    assert main(["ml", "evaluate", "--list"]) == 0
    names = [ln.split("\t")[0] for ln in capsys.readouterr().out.splitlines()]
    assert {"identity", "blur", "pixelate", "dp-pix", "random-block"} <= set(names)


def test_evaluate_rejects_unknown_method_and_bad_levels(tmp_path, capsys):
    assert main(["ml", "evaluate", "--method", "nope", "--work", str(tmp_path)]) == 2
    assert "unknown method" in capsys.readouterr().err
    assert main(["ml", "evaluate", "--levels", "1.5", "--work", str(tmp_path)]) == 2


def test_attacker_and_tasks_commands_run(tiny_cohort, capsys):
    assert main(["ml", "attacker", "--cohort", str(tiny_cohort), "--seeds", "1", "--steps", "2",
                 "--size", "32", "--method", "blur", "--p", "0.5", "--device", "cpu"]) == 2
    # the tiny cohort's test split has one patient: refused with a clear message
    assert "two test patients" in capsys.readouterr().err
    assert main(["ml", "attacker", "--dicom", str(tiny_cohort / "dicom"), "--seeds", "1",
                 "--steps", "2", "--size", "32", "--device", "cpu"]) == 0
    assert "verification AUC" in capsys.readouterr().out
    assert main(["ml", "tasks", str(tiny_cohort), "--epochs", "1", "--size", "32",
                 "--device", "cpu"]) == 0
    assert "segmentation_dice" in capsys.readouterr().out
