"""``medeid ml train`` on a tiny generated cohort: weights + manifest written and loadable,
checkpoints resume to the bit-identical result, a DICOM folder trains with PatientID labels."""

from __future__ import annotations

import json

import numpy as np
import pytest

from medeid_gui.lab.cohort import CohortConfig, generate_cohort
from medeid_gui.lab.train_method import STAGES, TrainConfig, parse_steps, train
from medeid_gui.ml.model import WEIGHT_FILES, load_model
from medeid_gui.ml.weights import read_manifest, sha256_file


@pytest.fixture(scope="module")
def tiny_cohort(tmp_path_factory):
    root = tmp_path_factory.mktemp("cohort")
    generate_cohort(root, CohortConfig(patients=6, studies_per_patient=2, size=64, seed=3))
    return root


def _cfg(data, out, work, steps=2, **kw) -> TrainConfig:
    return TrainConfig(data=str(data), out=str(out), work=str(work), seed=1, device="cpu",
                       batch=8, ssl_batch=4, comp_batch=2, steps={s: steps for s in STAGES},
                       ckpt_every=1, threads=1, **{"seg_steps": 3, **kw})


class _Stop(Exception):
    pass


def test_train_writes_verified_weights_and_resumes_identically(tiny_cohort, tmp_path) -> None:
    out_a = tmp_path / "a"
    summary = train(_cfg(tiny_cohort, out_a, tmp_path / "wa"), fresh=True, log=lambda m: None)
    man = read_manifest(out_a)["files"]
    assert set(WEIGHT_FILES) <= set(man)
    info = json.loads((out_a / "medeid-training.json").read_text())
    assert info["metrics"]["n_images"] >= 2 and "rate_nats_per_image" in info["metrics"]
    assert summary["config"]["seed"] == 1
    card = (out_a / "medeid-compensator.md").read_text()
    assert "Generated cohort, not patients" in card and man["medeid-compensator.pt"]["sha256"] in card
    model = load_model(out_a, device="cpu")
    frame = np.random.default_rng(0).integers(0, 4000, (90, 70)).astype(np.uint16)
    from medeid_gui.ml.deidentify import deidentify

    out, _, mask = deidentify(frame, 0.5, model=model)
    assert out.dtype == np.uint16 and 0.4 < mask.mean() < 0.6

    # interrupted inside the "mdl" stage right after a checkpoint, then resumed
    out_b, work_b = tmp_path / "b", tmp_path / "wb"

    def stop_in_mdl(msg: str) -> None:
        if msg.startswith("[mdl] 1/"):
            raise _Stop

    with pytest.raises(_Stop):
        train(_cfg(tiny_cohort, out_b, work_b), fresh=True, log=stop_in_mdl)
    assert not (out_b / "manifest.json").exists()
    lines: list[str] = []
    train(_cfg(tiny_cohort, out_b, work_b), log=lines.append)
    assert any(line.startswith("resuming") for line in lines)
    assert not any(line.startswith("[reid]") for line in lines)  # finished stages are not redone
    for name in WEIGHT_FILES:
        assert sha256_file(out_a / name) == sha256_file(out_b / name), name

    # re-running the last stage from its snapshot reproduces it exactly
    sums = {n: sha256_file(out_b / n) for n in WEIGHT_FILES}
    train(_cfg(tiny_cohort, out_b, work_b), redo=("comp",), log=lambda m: None)
    assert sums == {n: sha256_file(out_b / n) for n in WEIGHT_FILES}

    # a checkpoint of another configuration is refused instead of silently mixed
    with pytest.raises(RuntimeError, match="another configuration"):
        train(_cfg(tiny_cohort, tmp_path / "c", work_b, steps=3), log=lambda m: None)


def test_train_on_dicom_folder_uses_patient_id(tiny_cohort, tmp_path) -> None:
    from medeid_gui.lab.method_data import load_dicom_folder

    data = load_dicom_folder(tiny_cohort / "dicom")
    assert len(data) == 12 and data.n_ids == 6 and data.findings is None
    assert data.images.shape[1:] == (128, 128) and data.images.dtype == np.float32
    train(_cfg(tiny_cohort / "dicom", tmp_path / "o", tmp_path / "w", steps=1), fresh=True,
          log=lambda m: None)
    load_model(tmp_path / "o", device="cpu")


def test_dicom_folder_needs_two_patients(tmp_path) -> None:
    import shutil

    from pydicom.data import get_testdata_file

    from medeid_gui.lab.method_data import load_dicom_folder

    shutil.copy(get_testdata_file("CT_small.dcm"), tmp_path / "a.dcm")
    with pytest.raises(ValueError, match="two patients"):
        load_dicom_folder(tmp_path)


def test_parse_steps() -> None:
    assert parse_steps("reid=5, comp=7") == {"reid": 5, "comp": 7}
    with pytest.raises(ValueError):
        parse_steps("nope=3")


def test_redo_with_new_later_stage_settings(tiny_cohort, tmp_path) -> None:
    """A redo from ``mdl`` may change what only mdl/comp use (code width, rate weight, critic) and
    keeps the earlier stages' networks bit-identical; changing an earlier stage is refused."""
    import torch

    out, work = tmp_path / "o", tmp_path / "w"
    train(_cfg(tiny_cohort, out, work), fresh=True, log=lambda m: None)
    first = load_model(out, device="cpu")  # the default s encoder has the dilated (33-cell) field
    assert first.config["s_context"] is True and len(first.decoupler.s_enc) == 6
    before = torch.load(work / "after_ssl.pt", weights_only=False)
    lines: list[str] = []
    summary = train(_cfg(tiny_cohort, out, work, code_ch=3, beta_rate=0.05, lam_critic=0.5,
                         find_weight=2.0, lesion_pos_weight=5.0, p_full=0.6, rec_weight=0.5,
                         comp_target="template", s_context=0),
                    redo=("mdl",), log=lines.append)
    assert not any(line.startswith(("[reid]", "[idmap]", "[ssl]")) for line in lines)
    assert any(line.startswith("[comp]") and "critic" in line for line in lines)
    assert summary["redo"] == "mdl" and set(summary["seconds"]) == set(STAGES)
    after = torch.load(work / "after_comp.pt", weights_only=False)
    for name in ("reid", "idmap", "encoder"):
        for k, v in before[name].items():
            assert torch.equal(v, after[name][k]), (name, k)
    model = load_model(out, device="cpu")
    assert model.config["code_ch"] == 3 and model.decoupler.code_ch == 3
    assert model.config["s_context"] is False and len(model.decoupler.s_enc) == 3
    # the compensators carry the training set's median image as their prior
    from medeid_gui.lab.method_data import load_cohort

    median = np.median(load_cohort(tiny_cohort, "train").images, 0)
    for comp in (model.compensator, model.compensator_raw):
        np.testing.assert_allclose(comp.prior[0, 0].numpy(), median, atol=1e-6)
    from medeid_gui.ml.deidentify import deidentify

    frame = np.random.default_rng(1).random((50, 60)).astype(np.float32)
    y, _, mask = deidentify(frame, 1.0, model=model)
    assert mask.all() and y.shape == frame.shape and not np.array_equal(y, frame)
    card = (out / "medeid-compensator.md").read_text()
    assert "--code-ch 3" in card and "--lam-critic 0.5" in card and "--redo mdl" in card
    assert "--comp-target" not in card  # the default: not named
    assert "median of the training images" in card
    assert "3 x 32 x 32" in card
    with pytest.raises(RuntimeError, match="another configuration"):
        train(_cfg(tiny_cohort, out, work, steps=3), redo=("mdl",), log=lambda m: None)


def test_comp_with_effusion_context_and_proxy_segmenter(tiny_cohort, tmp_path) -> None:
    """``--effusion-context`` widens the drawn region around effusions only; ``--seg-weight``
    trains the proxy segmenter once, keeps it in the checkpoint (a resumed comp stage does not
    retrain it) and the resumed run equals an uninterrupted one; the card names both options."""
    import dataclasses

    import torch

    from medeid_gui.lab.method_data import load_cohort
    from medeid_gui.lab.train_comp import drawn_region as _drawn_region

    data = load_cohort(tiny_cohort, "train")
    base = _drawn_region(data, 0)[:, 0].numpy()
    wide = _drawn_region(data, 3)[:, 0].numpy()
    np.testing.assert_array_equal(base, data.lesion_px)
    assert (wide >= base).all()
    has_eff = data.lesion_maps[:, 1].reshape(len(data), -1).any(1)
    assert has_eff.any() and (~has_eff).any()
    grew = (wide - base).reshape(len(data), -1).sum(1) > 0
    np.testing.assert_array_equal(grew, has_eff)  # only studies with an effusion grow
    with pytest.raises(ValueError, match="per-finding"):
        _drawn_region(dataclasses.replace(data, lesion_maps=None), 3)
    # the numpy dilation (no scipy in the installer bundle) is scipy's, on the cohort's effusions
    from scipy import ndimage

    from medeid_gui.lab.train_comp import dilate4

    for e in data.lesion_maps[:, 1][has_eff]:
        for k in (1, 3, 10):
            np.testing.assert_array_equal(dilate4(e, k), ndimage.binary_dilation(e, iterations=k))

    kw = dict(effusion_context=3, seg_weight=1.0, seg_steps=4)
    out_a, work_a = tmp_path / "a", tmp_path / "wa"
    lines_a: list[str] = []
    train(_cfg(tiny_cohort, out_a, work_a, steps=3, **kw), fresh=True, log=lines_a.append)
    assert any(line.startswith("[proxy-seg] 4/4") for line in lines_a)
    assert any(line.startswith("[comp]") and "seg_s" in line and "seg_raw" in line
               for line in lines_a)
    ck = torch.load(work_a / "checkpoint.pt", weights_only=False)
    assert ck["extra"]["proxy_seg"]["key"] == [1, 4]

    out_b, work_b = tmp_path / "b", tmp_path / "wb"

    def stop_in_comp(msg: str) -> None:
        if msg.startswith("[comp] 2/"):
            raise _Stop

    with pytest.raises(_Stop):
        train(_cfg(tiny_cohort, out_b, work_b, steps=3, **kw), fresh=True, log=stop_in_comp)
    lines_b: list[str] = []
    train(_cfg(tiny_cohort, out_b, work_b, steps=3, **kw), log=lines_b.append)
    assert not any(line.startswith("[proxy-seg]") for line in lines_b)
    for name in WEIGHT_FILES:
        assert sha256_file(out_a / name) == sha256_file(out_b / name), name
    card = (out_a / "medeid-compensator.md").read_text()
    assert "Around an effusion, 3 px" in card and "trained first, 4 steps" in card
    assert "--effusion-context 3" in card and "--seg-weight 1" in card and "--seg-steps 4" in card


def test_init_from_fine_tunes_only_the_compensators_and_fill_notch_changes_them(tiny_cohort, tmp_path) -> None:
    """``--init-from`` keeps the identity and semantic networks' weights bit-identical and trains
    only the compensators; ``--fill-notch`` (their losses see the notched fill) and
    ``--border-weight`` (the seam loss) change what they learn."""
    import torch

    out_a = tmp_path / "a"
    train(_cfg(tiny_cohort, out_a, tmp_path / "wa"), fresh=True, log=lambda m: None)
    runs = {}
    for notch, seam in ((0, 0.0), (1, 0.0), (1, 5.0)):
        out = tmp_path / f"n{notch}s{seam:g}"
        lines: list[str] = []
        train(_cfg(tiny_cohort, out, tmp_path / f"w{notch}s{seam:g}", fill_notch=notch,
                   border_weight=seam), fresh=True, log=lines.append, init_from=out_a)
        assert not any(line.startswith("stage reid done") for line in lines)
        info = json.loads((out / "medeid-training.json").read_text())
        assert info.get("init_from") == str(out_a)
        runs[(notch, seam)] = load_model(out, "cpu")
        assert any("seam_s" in line for line in lines) == (seam > 0)
        assert ("--border-weight 5" in (out / "medeid-compensator.md").read_text()) == (seam > 0)
    base = load_model(out_a, "cpu")

    def same(m1, m2, name: str) -> bool:
        s1, s2 = getattr(m1, name).state_dict(), getattr(m2, name).state_dict()
        # the decoupler's identity adversary is a training-only head, not exported: load_model
        # gives it a fresh initialisation
        return all(torch.equal(s1[k], s2[k]) for k in s1 if not k.startswith("adv"))

    for name in ("reid", "idmap", "encoder", "decoupler"):
        assert same(base, runs[(1, 5.0)], name), name
    assert not same(base, runs[(0, 0.0)], "compensator")
    assert not same(runs[(0, 0.0)], runs[(1, 0.0)], "compensator")
    assert not same(runs[(1, 0.0)], runs[(1, 5.0)], "compensator")  # the seam loss trains them
