"""``medeid ml train ARCHIVE`` on a small mixed folder: real radiographs imported as DICOM (as a
site would, ``medeid import-images``), a CT file and a broken file.

Proves: the plan lists the trained domain and every skipped one with its reason and counts, the
dry run trains nothing, one bad file is listed and does not stop the run, the model folder has a
manifest with domain, working size, sha256s and the images' licences, the model loads at its
working size and its domain refuses CT and lateral views, and a rerun resumes (nothing retrained).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from real_archive import REAL, STEPS, build_archive
from real_archive import archive_rows as _rows

pytestmark = pytest.mark.skipif(REAL is None, reason="real CXR set not present at ../shared/real/cxr")


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    return build_archive(tmp_path_factory.mktemp("archive"))


def _train(archive: Path, out: Path, *extra: str, capsys) -> tuple[int, str]:
    from medeid_gui.cli import main

    rc = main(["ml", "train", str(archive / "dicom"), "--out", str(out), "--min-patients", "2",
               "--steps", STEPS, "--seg-steps", "1", "--threads", "1", *extra])
    return rc, capsys.readouterr().out


def test_dry_run_lists_domains_and_trains_nothing(archive: Path, tmp_path: Path, capsys) -> None:
    rc, out = _train(archive, tmp_path / "m", "--dry-run", "--min-patients", "4", capsys=capsys)
    assert rc == 0
    assert "skip  dx-chest-frontal" in out and "3 patients with >= 2 studies, needs 4" in out
    assert "skip  ct-" in out and "estimated time" in out
    assert "unreadable: " in out and "broken.dcm" in out
    assert not (tmp_path / "m").exists()


def test_trains_frontal_skips_the_rest_and_resumes(archive: Path, tmp_path: Path, capsys) -> None:
    from medeid_gui.ml.domain import ImageFacts
    from medeid_gui.ml.model import load_model
    from medeid_gui.ml.model_registry import describe_model, verify_folder

    out = tmp_path / "models"
    rc, text = _train(archive, out, "--size", "160", "--labels", str(archive / "labels.csv"),
                      capsys=capsys)
    assert rc == 0, text
    assert "TRAIN dx-chest-frontal" in text
    assert "skipped dx-chest-lateral: lateral views" in text
    assert "skipped ct-unknown: body part not stated" in text  # CT_small.dcm has none
    assert "broken.dcm" in text and "%" in text  # bad file listed; progress bar shown
    assert "labels of the 7 training images: 7 with a finding, 0 with a lung mask" in text
    assert "task teachers: severity, finding" in text  # what the labels gave the comp stage
    folder = out / "medeid-dx-chest-frontal"
    manifest = verify_folder(folder)
    assert manifest["work_size"] == 160
    card = (folder / "medeid-compensator.md").read_text(encoding="utf-8")
    assert "task teachers: severity, finding" in card and "--labels CSV" in card
    assert manifest["training"]["patients"] == 3
    assert "non-commercial" in manifest["licence"] or "attribution" in manifest["licence"]
    assert set(manifest["training"]["licences"]) <= {r["license"] or "not stated" for r in _rows()}
    model = load_model(folder, device="cpu")
    assert model.work_size == 160
    dom = describe_model(folder).domain
    frontal = ImageFacts("DX", "CHEST", "PA", False, "MONOCHROME2", 512, 512, 1)
    assert dom.check(frontal).inside
    assert not dom.check(ImageFacts("DX", "CHEST", "LL", True, "MONOCHROME2", 512, 512, 1)).inside
    assert not dom.check(ImageFacts("CT", "CHEST", "", False, "MONOCHROME2", 512, 512, 1)).inside
    rc, again = _train(archive, out, "--size", "160", capsys=capsys)
    assert rc == 0 and "resuming: done ['reid', 'idmap', 'ssl', 'mdl', 'comp']" in again


def test_init_from_fine_tunes_only_the_compensators_on_an_archive(archive: Path, tmp_path: Path,
                                                                 capsys) -> None:
    """``--init-from`` (a site fine-tune of the shipped networks) is honoured on an archive as on
    a cohort: the identity and semantic networks are the source's, bit for bit; only the
    compensators train (it was silently ignored, and every stage retrained, before)."""
    from medeid_gui._resources import models_dir

    out = tmp_path / "ft"
    rc, text = _train(archive, out, "--size", "128", "--init-from", str(models_dir()), "--no-eval",
                      capsys=capsys)
    assert rc == 0, text
    assert "[reid]" not in text and "[comp]" in text  # no stage but comp ran
    # the plan's estimate and the bar count the compensators' steps only
    assert "steps {'comp': 2}" in text and "100.0 % [comp] 2/2" in text
    import torch

    from medeid_gui.ml.model import load_model

    base, tuned = load_model(models_dir(), "cpu"), load_model(out / "medeid-dx-chest-frontal", "cpu")

    def same(name: str) -> bool:
        s1, s2 = getattr(base, name).state_dict(), getattr(tuned, name).state_dict()
        # the decoupler's identity adversary is training-only: load_model initialises it afresh
        return all(torch.equal(s1[k], s2[k]) for k in s1 if not k.startswith("adv"))

    for name in ("reid", "idmap", "encoder", "decoupler"):
        assert same(name), name
    assert not same("compensator")
