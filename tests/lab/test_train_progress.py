"""What a run's estimate and progress bar count: ``train_config.running_stages`` and
``train_progress.step_reporter`` (the JSON ``step`` events the app's bar follows)."""

from __future__ import annotations

import json

import pytest

from medeid_gui.lab.train_config import STAGES, TrainConfig, running_stages
from medeid_gui.lab.train_progress import step_reporter


def test_running_stages() -> None:
    assert running_stages() == STAGES
    assert running_stages("models") == ("comp",)  # --init-from: the compensators only
    assert running_stages(None, ("ssl",)) == ("ssl", "mdl", "comp")
    assert running_stages("models", ("mdl", "comp")) == ("mdl", "comp")  # --redo wins, as in train


def _fractions(stages: tuple[str, ...], lines: list[str], capsys) -> list[float]:
    cfg = TrainConfig("", "", "", steps={"reid": 100, "idmap": 100, "ssl": 100, "mdl": 100, "comp": 100})
    report = step_reporter(cfg, "dx", 0, 1, stages=stages)
    capsys.readouterr()
    for line in lines:
        report(line)
    return [json.loads(ln)["fraction"] for ln in capsys.readouterr().out.splitlines()]


def test_an_init_from_run_fills_the_bar_with_its_comp_steps(capsys) -> None:
    lines = ["[comp] 50/100 loss 1", "[comp] 100/100 loss 1"]
    assert _fractions(("comp",), lines, capsys) == [pytest.approx(0.5), pytest.approx(1.0)]
    # counted over every stage, as before, the same run would start at 80 %
    assert _fractions(STAGES, lines, capsys) == [pytest.approx(0.9), pytest.approx(1.0)]
    assert _fractions(("comp",), ["[reid] 50/100 loss 1"], capsys) == []  # not a stage of the run
