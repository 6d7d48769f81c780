"""``audit``: finds planted leaks (it can fail) and none after a normal export of the corpora."""

from __future__ import annotations

import random
import shutil
import warnings
from pathlib import Path

import corpora
import pydicom
import pytest
from helpers import copy_inputs, data_file, replicate

from medeid_gui.deid.options import Option
from medeid_gui.export.audit import audit
from medeid_gui.export.pipeline import ExportConfig, run_export
from medeid_gui.export.rundb import read_manifest_csv


def _export(inp: Path, out: Path, env: dict[str, Path], **kw):
    kw.setdefault("workers", 1)
    return run_export(ExportConfig(input=inp, output=out, key_file=env["key"], ledger=env["ledger"],
                                   state_dir=env["state"], burned_in="off", **kw))


def _rewrite(path: Path, fn) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(path)
        fn(ds)
        ds.save_as(path)


def test_planted_leaks_are_found(tmp_path: Path, env: dict[str, Path]) -> None:
    inp, out = tmp_path / "in", tmp_path / "out"
    replicate(inp, 6)
    copy_inputs(inp / "x", ("MR_small.dcm",))
    s = _export(inp, out, env)
    clean = audit(inp, out, state_dir=env["state"])
    assert clean.ok, [h.line() for h in clean.hits] + clean.uid_problems
    assert clean.values_collected > 10 and clean.inputs == 7
    rows = {Path(r["input_path"]).name: r for r in read_manifest_csv(s.manifest_path)}
    # 1. the PatientName put back into one output
    target = out / rows["img00002.dcm"]["output_path"]
    _rewrite(target, lambda ds: setattr(ds, "PatientName", "Doe^Jane000"))
    # 2. an original StudyInstanceUID hidden in a private tag of another
    other = out / rows["img00003.dcm"]["output_path"]
    _rewrite(
        other,
        lambda ds: ds.private_block(0x0009, "LEAKCO", create=True).add_new(
            0x01, "LO", "1.2.826.0.1.3680043.8.498.1000"
        ),
    )
    # 3. an original PatientID in a path
    leaf = out / rows["MR_small.dcm"]["output_path"]
    orig_id = str(pydicom.dcmread(data_file("MR_small.dcm")).PatientID)
    leaf.rename(leaf.with_name(f"{orig_id}_{leaf.name}"))
    rep = audit(inp, out, state_dir=env["state"])
    assert not rep.ok
    cats = {(h.category, h.output.split("/")[-1] if h.location == "path" else Path(h.output).name) for h in rep.hits}
    assert ("name", target.name) in cats
    assert any(h.category == "uid" and Path(h.output).name == other.name and "byte" in h.location for h in rep.hits)
    assert any(h.location == "path" and h.category == "id" for h in rep.hits)
    names = [h for h in rep.hits if h.output.endswith(target.name)]
    assert any("PatientName" in h.location for h in names)
    # the renamed file is also a stray (not in the manifest) and its listed path is missing
    assert rep.missing_outputs and rep.stray_outputs
    assert rep.hash_mismatches  # rewritten files no longer match the manifest


def test_input_added_after_the_export_is_unaccounted(tmp_path: Path, env: dict[str, Path]) -> None:
    inp, out = tmp_path / "in", tmp_path / "out"
    copy_inputs(inp, ("CT_small.dcm",))
    _export(inp, out, env)
    shutil.copyfile(data_file("rtplan.dcm"), inp / "arrived_later.dcm")
    rep = audit(inp, out, state_dir=env["state"])
    assert any("arrived_later" in u for u in rep.unaccounted)


def _corpus_sample() -> list[Path]:
    files = list(corpora.pydicom_testdata()) + list(corpora.deid_data())
    big = [p for p in corpora.pydicom_data() if p.stat().st_size < 3_000_000]
    random.Random(7).shuffle(big)
    return files + big[:15]


def test_no_leak_after_export_of_the_corpora(tmp_path: Path, env: dict[str, Path]) -> None:
    files = _corpus_sample()
    if len(files) < 50:
        pytest.skip("test corpora not installed")
    inp = tmp_path / "in"
    for i, p in enumerate(files):
        dst = inp / f"{i:03d}" / p.name
        dst.parent.mkdir(parents=True)
        shutil.copyfile(p, dst)
    s = _export(inp, tmp_path / "out", env, workers=2)
    assert s.exported > 100
    rep = audit(inp, tmp_path / "out", state_dir=env["state"])
    msg = (
        [h.line() for h in rep.hits[:20]]
        + rep.uid_problems[:20]
        + rep.unaccounted
        + rep.stray_outputs
        + rep.missing_outputs
    )
    assert rep.ok, "\n".join(msg)
    assert rep.values_collected > 500


def test_broken_reference_in_output_is_reported(tmp_path: Path, env: dict[str, Path]) -> None:
    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence

    inp, out = tmp_path / "in", tmp_path / "out"
    files = replicate(inp, 3)
    first = pydicom.dcmread(files[0])

    def add_ref(ds) -> None:
        item = Dataset()
        item.ReferencedSOPClassUID = first.SOPClassUID
        item.ReferencedSOPInstanceUID = first.SOPInstanceUID
        ds.ReferencedImageSequence = Sequence([item])

    _rewrite(files[1], add_ref)
    s = _export(inp, out, env)
    assert audit(inp, out, state_dir=env["state"]).ok  # the engine remapped the reference consistently
    rows = {Path(r["input_path"]).name: r for r in read_manifest_csv(s.manifest_path)}
    target = out / rows[files[1].name]["output_path"]
    ref_new = pydicom.dcmread(target).ReferencedImageSequence[0].ReferencedSOPInstanceUID
    assert ref_new == pydicom.dcmread(out / rows[files[0].name]["output_path"]).SOPInstanceUID
    _rewrite(
        target,
        lambda ds: setattr(ds.ReferencedImageSequence[0], "ReferencedSOPInstanceUID", "2.25.12345678901234567890"),
    )
    rep = audit(inp, out, state_dir=env["state"])
    assert any(
        "ReferencedImageSequence[0].ReferencedSOPInstanceUID" in p and "not in the output" in p
        for p in rep.uid_problems
    )


def test_original_uid_outside_the_table_is_reported(tmp_path: Path, env: dict[str, Path]) -> None:
    """Issue #19: an enhanced MR file's Creator-Version UID (not a row of Table E.1-1) must not
    reach OUT; the audit finds it when it is put back, and does not report the kept SOP class."""
    inp, out = tmp_path / "in", tmp_path / "out"
    inp.mkdir()
    ds = pydicom.dcmread(data_file("emri_small.dcm"))
    original = "1.3.46.670589.11.0.0.51.4.56.1"
    ds.CreatorVersionUID = original
    ds.save_as(inp / "emri.dcm", enforce_file_format=False)
    s = _export(inp, out, env)
    rep = audit(inp, out, state_dir=env["state"])
    assert rep.ok, [h.line() for h in rep.hits]
    target = out / read_manifest_csv(s.manifest_path)[0]["output_path"]
    written = pydicom.dcmread(target)
    assert written.CreatorVersionUID != original and written.SOPClassUID == ds.SOPClassUID
    _rewrite(target, lambda d: setattr(d, "CreatorVersionUID", original))
    rep = audit(inp, out, state_dir=env["state"])
    assert any(h.category == "uid" and h.attribute == "CreatorVersionUID" for h in rep.hits)
    kept = audit(inp, out, state_dir=env["state"], options=frozenset({Option.RETAIN_UIDS}))
    assert not any(h.category == "uid" for h in kept.hits)
