"""The train dialog's logic without Qt: the CLI command it runs and the progress lines it reads.

The last test runs the real command (a dry run over pydicom's own files: a CT, a radiograph
without a body part) and reads the plan from its real output, so the format of
``lab.train_progress`` and this reader cannot drift apart unnoticed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from pydicom.data import get_testdata_file

from medeid_gui.viewmodel.train_run import (
    TrainOptions,
    TrainRun,
    cli_program,
    format_minutes,
    parse_line,
    time_left,
    train_command,
    why_no_plan,
)


def _line(event: str, **fields: object) -> str:
    return json.dumps({"medeid": "train", "v": 1, "event": event, **fields})


def test_command_from_source_and_frozen() -> None:
    opts = TrainOptions(min_patients=2, size=128, steps="reid=2", threads=1, extra=("--seg-steps", "1"))
    cmd = train_command("/data/a b", opts, dry_run=True, frozen=False, executable="/py/bin/python3")
    assert cmd == ["/py/bin/python3", "-m", "medeid_gui", "ml", "train", "/data/a b", "--progress", "json",
                   "--min-patients", "2", "--size", "128", "--steps", "reid=2", "--threads", "1",
                   "--seg-steps", "1", "--dry-run"]
    frozen = cli_program(frozen=True, executable="/opt/medeid/medeid-gui")
    assert Path(frozen[0]).parent == Path("/opt/medeid") and Path(frozen[0]).name.startswith("medeid")
    assert Path(frozen[0]).name != "medeid-gui" and len(frozen) == 1
    assert train_command("x")[-3:] == ["x", "--progress", "json"]  # no options: the CLI's defaults
    labelled = train_command("x", TrainOptions(labels="/data/labels.csv"))
    assert labelled[-2:] == ["--labels", "/data/labels.csv"]


def test_parse_line_takes_only_progress_objects() -> None:
    assert parse_line(_line("step", fraction=0.5))["fraction"] == 0.5
    assert parse_line("|####      |  40.0 % [reid] 2/5 loss 1.0") is None
    assert parse_line('{"metrics": 1}') is None  # JSON, but not a progress event
    assert parse_line("{not json") is None


def test_run_state_from_split_chunks() -> None:
    plan = _line("plan", root="/a", estimate_s=420.0, device="CPU, 1 thread(s)", bad=[["/a/x.dcm", "not DICOM"]],
                 domains=[{"key": "dx-chest-frontal", "name": "frontal chest radiographs (DX)", "images": 9,
                           "patients": 3, "multi_day": 3, "trainable": True, "reason": "", "estimate_s": 420.0},
                          {"key": "ct-unknown", "name": "CT images", "images": 1, "patients": 1, "multi_day": 0,
                           "trainable": False, "reason": "body part not stated", "estimate_s": 0.0}])
    text = "\n".join([plan, "human line", _line("domain", key="dx-chest-frontal", index=0, count=1, source="s"),
                      _line("step", key="dx-chest-frontal", stage="reid", step=1, steps=2, fraction=0.1),
                      _line("model", key="dx-chest-frontal", folder="/m/medeid-dx-chest-frontal"),
                      _line("done", trained=["/m/medeid-dx-chest-frontal"], rc=0, bad=[],
                            skipped=[{"key": "ct-unknown", "reason": "body part not stated"}])])
    run = TrainRun()
    cut = len(text) // 2
    assert all(e["event"] != "done" for e in run.feed(text[:cut]))  # a line split across chunks waits
    run.feed(text[cut:])
    assert run.rc is None  # the last line has no newline yet
    run.finish()
    assert run.plan is not None and [d.key for d in run.plan.trainable] == ["dx-chest-frontal"]
    assert "about 7 min" in run.plan.summary and "1 unreadable" in run.plan.summary
    assert run.plan.domains[1].line.startswith("skip") and "body part not stated" in run.plan.domains[1].line
    assert run.rc == 0 and run.fraction == 1.0 and run.models == ["/m/medeid-dx-chest-frontal"]
    assert run.skipped == [("ct-unknown", "body part not stated")] and run.log == ["human line"]


def test_why_no_plan(tmp_path: Path) -> None:
    # an install without medeid_gui.lab (bundles before site training): the real CLI without it
    cmd = train_command(tmp_path, dry_run=True)
    without_lab = ("import sys; sys.modules['medeid_gui.lab'] = None; from medeid_gui.cli import main; "
                   f"sys.exit(main({cmd[4:]!r}))")
    done = subprocess.run([sys.executable, "-c", without_lab], capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).parents[2])
    assert done.returncode == 2 and "does not include the training tools" in why_no_plan(2, done.stderr)
    assert why_no_plan(2, "x\nmedeid ml train: no such folder\n\n").endswith(": medeid ml train: no such folder")
    assert why_no_plan(1, "") == "The folder could not be planned (exit status 1); see the log."


def test_time_left() -> None:
    assert time_left(0.25, 300) == "about 15 min left"
    assert time_left(0.01, 300) == "" and time_left(1.0, 300) == "" and time_left(0.5, 1) == ""


def test_format_minutes() -> None:
    assert format_minutes(5) == "under a minute"
    assert format_minutes(600) == "about 10 min"
    assert format_minutes(3 * 3600) == "about 3.0 h"


def test_real_dry_run_is_read_back(tmp_path: Path) -> None:
    for name in ("CT_small.dcm", "MR_small.dcm", "RG1_UNCR.dcm"):
        shutil.copy(get_testdata_file(name), tmp_path / name)
    (tmp_path / "broken.dcm").write_bytes(b"DICM" + b"\0" * 40)
    cmd = train_command(tmp_path, TrainOptions(min_patients=2, threads=1), dry_run=True)
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=Path(__file__).parents[2])
    assert done.returncode == 0, done.stderr
    run = TrainRun()
    run.feed(done.stdout)
    run.finish()
    assert run.plan is not None and not run.plan.trainable and run.rc == 0
    assert {d.key for d in run.plan.domains} >= {"ct-unknown", "mr-unknown"}
    assert all(d.reason for d in run.plan.domains)  # every skipped domain says why
    assert [Path(p).name for p, _ in run.plan.bad] == ["broken.dcm"]
    assert "nothing to train" in run.plan.summary
    assert any(line.startswith("archive ") for line in run.log)  # the human plan is there too
    assert sys.executable in cmd


def test_evaluating_phase_moves_the_bar() -> None:
    run = TrainRun()
    run.feed(_line("step", key="k", stage="comp", step=2, steps=2, fraction=0.9) + "\n")
    run.feed(_line("evaluating", key="k", step=3, steps=12, what="medeid p=0.25", fraction=0.925) + "\n")
    assert run.fraction == 0.925 and "evaluating on held-out patients (medeid p=0.25)" in run.status
    run.feed(_line("evaluating", key="k", step=1, steps=12, what="originals", fraction=0.908) + "\n")
    assert run.fraction == 0.925  # never moves back
