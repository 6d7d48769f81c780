"""The end of ``medeid ml train ARCHIVE``: patients held out before training, then the model measured
on them (``lab.archive_eval``), on real radiographs imported as DICOM (tiny step counts).

Proves: the held-out patients are chosen by seed, patient-disjoint, and none of their images is
trained on; the model folder then holds the card's section, ``heldout-evaluation.json/.md/.png``
(recorded in the manifest, so an exported model carries them) and the one-line evaluation, whose
numbers are AUCs in [0, 1] that the Markdown and the line repeat from the JSON; the method at
p = 0 releases the originals (same AUCs), random blocking at p = 1 leaves nothing to link (0.5);
the JSON progress has an ``evaluating`` phase; too few patients, or ``--no-eval``, give the reason
instead of numbers.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
from real_archive import REAL, STEPS, archive_rows, build_archive

pytestmark = pytest.mark.skipif(REAL is None, reason="real CXR set not present at ../shared/real/cxr")

LEVELS = [0.0, 0.25, 0.5, 0.75, 1.0]


def _train(archive: Path, out: Path, *extra: str) -> int:
    from medeid_gui.cli import main

    return main(["ml", "train", str(archive / "dicom"), "--out", str(out), "--min-patients", "2",
                 "--steps", STEPS, "--seg-steps", "1", "--threads", "1", "--eval-attack-steps", "5",
                 "--eval-task-epochs", "1", *extra])


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, Path, str]:
    """(archive of 8 patients imaged on two days, model folder, stdout) after one run with labels."""
    import contextlib
    import io

    root = build_archive(tmp_path_factory.mktemp("archive8"), 8, masks=True)
    out = tmp_path_factory.mktemp("models8")
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = _train(root, out, "--labels", str(root / "labels.csv"), "--progress", "json")
    assert rc == 0, buf.getvalue()[-3000:]
    return root, out / "medeid-dx-chest-frontal", buf.getvalue()


def test_split_is_seeded_and_patient_disjoint(tmp_path: Path) -> None:
    from medeid_gui.lab.archive_eval import ArchiveEvalConfig, split_heldout
    from medeid_gui.lab.archive_plan import scan_archive

    root = build_archive(tmp_path / "a", 8)
    d = scan_archive(root / "dicom", min_patients=2).trainable[0]
    a = split_heldout(d, ArchiveEvalConfig(fraction=0.25, seed=0))
    b = split_heldout(d, ArchiveEvalConfig(fraction=0.25, seed=0))
    held = {im.patient_id for im in a.test}
    assert a.patients == 2 and held == {im.patient_id for im in b.test}
    assert held.isdisjoint({im.patient_id for im in a.train.images})
    assert len(a.test) + len(a.train.images) == len(d.images)
    others = {frozenset(im.patient_id for im in split_heldout(d, ArchiveEvalConfig(0.25, seed=s)).test)
              for s in range(1, 6)}
    assert others - {frozenset(held)}, "the seed does not change the held-out patients"
    few = split_heldout(d, ArchiveEvalConfig(fraction=0.1))
    assert not few.test and few.why_not.startswith(
        "not enough held-out patients for an evaluation (has 1, needs 2)")


def _aucs(node: object) -> list[float]:
    """Every 'auc'/'lo'/'hi' value under a JSON node."""
    if isinstance(node, dict):
        own = [v for k, v in node.items() if k in ("auc", "lo", "hi") and v is not None]
        return own + [x for v in node.values() for x in _aucs(v)]
    if isinstance(node, list):
        return [x for v in node for x in _aucs(v)]
    return []


def test_heldout_report_card_and_manifest(trained: tuple[Path, Path, str], tmp_path: Path) -> None:
    from medeid_gui.ml.model_registry import describe_model, export_model, import_model, verify_folder

    _, folder, _ = trained
    manifest = verify_folder(folder)
    moved = import_model(export_model(folder, tmp_path / "m.zip"), user_dir=tmp_path / "u").folder
    for ext in ("json", "md", "png"):  # hashed members of the model: they travel with it
        assert f"heldout-evaluation.{ext}" in manifest["files"]
        assert (moved / f"heldout-evaluation.{ext}").read_bytes() == (folder / f"heldout-evaluation.{ext}").read_bytes()
    assert (folder / "heldout-evaluation.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    train = manifest["training"]
    assert train["patients"] == 6 and train["held_out_patients"] == 2
    rep = json.loads((folder / "heldout-evaluation.json").read_text(encoding="utf-8"))
    training = json.loads((folder / "medeid-training.json").read_text(encoding="utf-8"))
    frontal = [r for r in archive_rows(8) if r["view"] != "L"]
    assert training["n_train_images"] == len(frontal) - rep["data"]["test_images"]  # none held out trained on
    assert rep["data"]["test_patients"] == 2 and rep["data"]["pairs"]["positives"] > 0
    assert set(rep["results"]) == {"medeid", "random-block"}
    for rows in rep["results"].values():
        assert [r["p"] for r in rows] == LEVELS
        assert set(rows[0]["attack"]) == {"thumb16", "geometry", "thumb16+geometry", "network"}
    values = _aucs(rep)
    assert len(values) > 100 and all(0.0 <= v <= 1.0 for v in values)
    o = rep["originals"]["attack"]
    assert rep["results"]["medeid"][0]["attack"] == o  # p = 0 releases the originals
    assert rep["results"]["random-block"][-1]["attack"]["thumb16"]["auc"] == 0.5  # all grey
    for r in rep["results"]["medeid"][1:]:
        f = r["fill"]
        assert f["images"] == rep["data"]["test_images"] and 0.0 <= f["share_ok"] <= 1.0
        assert 0.0 <= f["mean_shift_median"] <= f["mean_shift_max"] <= 1.0
    scored = rep["originals"]["tasks"]
    assert set(scored) | set(rep["tasks"]["not_scored"]) == {"finding_auc", "lung_dice", "severity_r"}
    assert all(-1.0 <= v <= 1.0 for r in [scored] + [x["tasks"] for x in rep["results"]["medeid"]]
               for v in r.values() if not math.isnan(v))

    md = (folder / "heldout-evaluation.md").read_text(encoding="utf-8")
    first = re.search(r"^\| originals \| – \| ([0-9.]+) \[([0-9.]+), ([0-9.]+)\]", md, re.M)
    assert first and first.groups() == tuple(f"{o['thumb16'][k]:.3f}" for k in ("auc", "lo", "hi"))
    line = manifest["evaluation"]
    assert "not evaluated yet" not in line and line == describe_model(folder).evaluation
    assert f"AUC {o['thumb16']['auc']:.2f} on originals" in line
    top = rep["results"]["medeid"][-1]["attack"]["thumb16"]["auc"]
    assert f"method {rep['results']['medeid'][2]['attack']['thumb16']['auc']:.2f} / {top:.2f}" in line
    card = (folder / "medeid-compensator.md").read_text(encoding="utf-8")
    assert "## Evaluation on held-out patients" in card and line in card


def test_progress_has_an_evaluating_phase(trained: tuple[Path, Path, str]) -> None:
    from medeid_gui.lab.archive_plan import estimate_seconds
    from medeid_gui.lab.train_config import STAGES, TrainConfig, parse_steps

    _, _, out = trained
    assert "(2 patients (4 images) held out for the evaluation, about" in out  # the plan
    events = [json.loads(ln) for ln in out.splitlines() if ln.startswith('{"medeid": "train"')]
    cfg = TrainConfig("", "", "")
    cfg.steps.update(parse_steps(STEPS))
    train_only = estimate_seconds({s: cfg.stage_steps(s) for s in STAGES}, 128, 1)
    assert events[0]["event"] == "plan" and events[0]["estimate_s"] > train_only + 4  # + 4 held-out images
    kinds = [e["event"] for e in events]
    ev = [e for e in events if e["event"] == "evaluating"]
    assert ev and kinds.index("evaluating") > max(i for i, k in enumerate(kinds) if k == "step")
    assert kinds.index("model") > kinds.index("evaluating")
    steps = [e["fraction"] for e in events if e["event"] == "step"]
    fr = [e["fraction"] for e in ev]
    assert max(steps) <= fr[0] and fr == sorted(fr) and fr[-1] == 1.0 and ev[-1]["what"] == "done"


def test_too_few_patients_and_no_eval_say_why(tmp_path: Path) -> None:
    from medeid_gui.ml.weights import read_manifest

    root = build_archive(tmp_path / "a3")  # 3 patients with two studies: 20 % is 1 patient
    assert _train(root, tmp_path / "m") == 0
    folder = tmp_path / "m" / "medeid-dx-chest-frontal"
    m = read_manifest(folder)
    why = "not enough held-out patients for an evaluation (has 1, needs 2)"
    assert m["evaluation"].startswith(why) and m["training"]["patients"] == 3
    assert not any(n.startswith("heldout-evaluation") for n in m["files"])
    assert why in (folder / "medeid-compensator.md").read_text(encoding="utf-8")
    assert _train(root, tmp_path / "n", "--no-eval", "--holdout", "0.67") == 0
    m = read_manifest(tmp_path / "n" / "medeid-dx-chest-frontal")
    assert m["evaluation"].startswith("not evaluated (trained with --no-eval")
    assert m["training"]["patients"] == 3 and m["training"]["held_out_patients"] == 0
