"""The batch pipeline on real files: manifest rows, failures, quarantine, reruns, refusals."""

from __future__ import annotations

import errno
import os
import shutil
import stat
import sys
from pathlib import Path

import pydicom
import pytest
from helpers import SMALL, copy_inputs, data_file, hashes, replicate, tree

from medeid_gui.export.pipeline import ExportConfig, ExportError, run_export
from medeid_gui.export.rundb import read_manifest_csv


def _cfg(inp: Path, out: Path, env: dict[str, Path], **kw) -> ExportConfig:
    kw.setdefault("workers", 1)
    kw.setdefault("burned_in", "off")
    return ExportConfig(input=inp, output=out, key_file=env["key"], ledger=env["ledger"], state_dir=env["state"], **kw)


def _salted_input(root: Path) -> dict[str, Path]:
    """Good files plus one of every kind of bad input."""
    copy_inputs(root / "good")
    bad = root / "bad"
    bad.mkdir(parents=True)
    ct = data_file("CT_small.dcm").read_bytes()
    files = {
        "truncated": bad / "truncated.dcm",
        "nonpreamble": bad / "no_preamble.dcm",
        "text": bad / "notes.txt",
        "empty": bad / "empty.dcm",
        "wrongvr": bad / "wrong_vr.dcm",
        "badpixels": bad / "bad_pixels.dcm",
        "odd": bad / "odd name ü #1 (copy).dcm",
    }
    files["truncated"].write_bytes(ct[: len(ct) // 3])
    # preamble-less: the same file without its 128-byte preamble and 'DICM'
    files["nonpreamble"].write_bytes(data_file("waveform_ecg.dcm").read_bytes()[132:])
    files["text"].write_text("not an image\n")
    files["empty"].write_bytes(b"")
    # wrong VR: PatientName declared as US with a 5-byte value
    raw = bytearray(data_file("MR2_UNCR.dcm").read_bytes())
    i = raw.find(b"\x10\x00\x10\x00PN")
    raw[i + 4 : i + 6] = b"US"
    files["wrongvr"].write_bytes(bytes(raw))
    # JPEG pixel data with its fragments destroyed
    jp = bytearray(data_file("JPEG-lossy.dcm").read_bytes())
    k = jp.find(b"\xff\xd8")
    jp[k : k + 400] = b"\x00" * 400
    files["badpixels"].write_bytes(bytes(jp))
    shutil.copyfile(data_file("rtplan.dcm"), files["odd"])
    if sys.platform != "win32":
        odd_bytes = os.fsencode(str(bad)) + b"/latin1-\xe9t\xe9.dcm"
        with open(odd_bytes, "wb") as fh:
            fh.write(data_file("rtstruct.dcm").read_bytes())
    return files


def test_salted_folder_every_file_has_a_row_and_inputs_untouched(tmp_path: Path, env: dict[str, Path]) -> None:
    inp = tmp_path / "in"
    files = _salted_input(inp)
    locked = inp / "bad" / "locked.dcm"
    shutil.copyfile(data_file("693_UNCI.dcm"), locked)
    locked.chmod(0)
    all_inputs = [p for p in inp.rglob("*") if p.is_file() and p != locked]
    before = hashes(all_inputs)
    q = tmp_path / "quarantine"
    try:
        s = run_export(_cfg(inp, tmp_path / "out", env, quarantine=q))
    finally:
        locked.chmod(stat.S_IRUSR | stat.S_IWUSR)
    assert hashes(all_inputs) == before  # inputs never written
    rows = read_manifest_csv(s.manifest_path)
    by_name = {Path(r["input_path"]).name: r for r in rows}
    n_files = sum(1 for p in inp.rglob("*") if p.is_file())
    assert len(rows) == n_files  # every input accounted for, odd names included
    assert by_name["notes.txt"]["status"] == "skipped"
    for k in ("truncated", "empty"):
        assert by_name[files[k].name]["status"] in ("skipped", "quarantined"), k
    assert by_name["truncated.dcm"]["status"] == "quarantined" and "truncated" in by_name["truncated.dcm"]["reason"]
    assert by_name["odd name ü #1 (copy).dcm"]["status"] == "exported"
    assert by_name["no_preamble.dcm"]["status"] == "exported"
    latin = [r for r in rows if "latin1-" in r["input_path"]]
    assert len(latin) == 1 and latin[0]["status"] == "exported" and "\\xe9" in latin[0]["input_path"]
    if os.geteuid() != 0:  # root can read a mode-000 file
        assert by_name["locked.dcm"]["status"] == "quarantined"
        assert "permission" in by_name["locked.dcm"]["reason"].lower()
    # failures are explained in one line, never a traceback, and copied to the quarantine
    for r in rows:
        assert "Traceback" not in r["reason"] and "\n" not in r["reason"]
        if r["status"] in ("failed", "quarantined"):
            assert r["reason"]
        if r["status"] == "exported":
            out = tmp_path / "out" / r["output_path"]
            assert pydicom.dcmread(out).SOPInstanceUID.startswith("2.25.")
            assert len(r["sha256"]) == 64 and len(r["output_sha256"]) == 64
    quarantined = [r for r in rows if r["status"] == "quarantined"]
    assert quarantined and s.quarantined == len(quarantined)
    assert (q / "quarantine.csv").read_text(encoding="utf-8").count("\n") == len(quarantined) + 1
    assert (q / "bad" / "truncated.dcm").read_bytes() == files["truncated"].read_bytes()
    assert not s.ok
    # the output never holds the manifest, the ledger or the key
    names = {p.name for p in (tmp_path / "out").rglob("*")}
    assert not names & {"manifest.csv", "run.sqlite", "ledger.sqlite", "project.key"}
    assert oct(env["ledger"].stat().st_mode & 0o777) == "0o600"


def test_reruns_and_worker_counts_give_identical_bytes(tmp_path: Path, env: dict[str, Path]) -> None:
    inp = tmp_path / "in"
    copy_inputs(inp)
    replicate(inp / "rep", 12)
    a = run_export(_cfg(inp, tmp_path / "a", env, workers=1))
    b = run_export(_cfg(inp, tmp_path / "b", env, workers=2))
    assert a.exported == b.exported >= 18 and a.failed == b.failed
    ta, tb = tree(tmp_path / "a"), tree(tmp_path / "b")
    assert ta == tb
    again = run_export(_cfg(inp, tmp_path / "a", env, workers=2))
    assert again.resumed == a.exported and tree(tmp_path / "a") == ta
    # a deleted output is redone with the same bytes
    victim = sorted((tmp_path / "a").rglob("*.dcm"))[0]
    victim.unlink()
    third = run_export(_cfg(inp, tmp_path / "a", env))
    assert third.resumed == a.exported - 1 and tree(tmp_path / "a") == ta


def test_refusals(tmp_path: Path, env: dict[str, Path]) -> None:
    inp = tmp_path / "in"
    copy_inputs(inp, SMALL[:2])
    with pytest.raises(ExportError, match="inside the input"):
        run_export(_cfg(inp, inp / "out", env))
    with pytest.raises(ExportError, match="quarantine"):
        run_export(_cfg(inp, tmp_path / "o", env, quarantine=tmp_path / "o" / "q"))
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "x.txt").write_text("x")
    with pytest.raises(ExportError, match="not empty"):
        run_export(_cfg(inp, busy, env))
    run_export(_cfg(inp, tmp_path / "o2", env))
    from medeid_gui.deid.engine import DeidConfig
    from medeid_gui.deid.options import parse

    with pytest.raises(ExportError, match="other settings"):
        run_export(_cfg(inp, tmp_path / "o2", env, deid=DeidConfig(options=parse("research"))))
    assert not list(inp.rglob("out"))


def test_disk_full_is_a_manifest_line_and_a_rerun_completes(
    tmp_path: Path, env: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import builtins

    from medeid_gui.export import atomic

    inp = tmp_path / "in"
    copy_inputs(inp, SMALL[:3])
    opened = {"n": 0}

    class FullDisk:
        """A file that takes a few bytes and then reports a full disk, like a real ENOSPC."""

        def __init__(self, fh) -> None:
            self.fh = fh

        def write(self, data: bytes) -> int:
            self.fh.write(data[:100])
            self.fh.flush()
            raise OSError(errno.ENOSPC, "No space left on device")

        def __getattr__(self, name: str):
            return getattr(self.fh, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc) -> None:
            self.fh.close()

    def patched_open(path, mode="r", *a, **kw):
        fh = builtins.open(path, mode, *a, **kw)
        if "w" in mode and str(tmp_path / "out") in str(path):  # the output disk is the full one
            opened["n"] += 1
            if opened["n"] >= 2:
                return FullDisk(fh)
        return fh

    monkeypatch.setattr(atomic, "open", patched_open, raising=False)
    s = run_export(_cfg(inp, tmp_path / "out", env))
    monkeypatch.delattr(atomic, "open")
    rows = read_manifest_csv(s.manifest_path)
    full_rows = [r for r in rows if "disk full" in r["reason"]]
    assert len(full_rows) == 2 and s.exported == 1 and not s.ok
    assert all(r["status"] == "failed" and "cannot write output" in r["reason"] for r in full_rows)
    assert not [p for p in (tmp_path / "out").rglob("*") if ".medeid-tmp-" in p.name]  # no half-written file
    assert len(list((tmp_path / "out").rglob("*.dcm"))) == 1
    s2 = run_export(_cfg(inp, tmp_path / "out", env))
    assert s2.ok and s2.exported == 3 and s2.resumed == 1


def test_privacy_without_pixel_module_is_a_clear_error(
    tmp_path: Path, env: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    inp = tmp_path / "in"
    copy_inputs(inp, SMALL[:1])
    monkeypatch.setitem(sys.modules, "medeid_gui.pixels.clean", None)  # import now raises ImportError
    with pytest.raises(ExportError, match="pixel de-identification not available"):
        run_export(_cfg(inp, tmp_path / "out", env, privacy=0.5))
    s = run_export(_cfg(inp, tmp_path / "out2", env, burned_in="auto"))
    assert s.ok and any("header-only" in n for n in s.notes)


def test_ledger_links_pseudonyms_to_originals(tmp_path: Path, env: dict[str, Path]) -> None:
    from medeid_gui.export.ledger import Ledger

    inp = tmp_path / "in"
    replicate(inp, 4)
    run_export(_cfg(inp, tmp_path / "out", env))
    out = next((tmp_path / "out").rglob("*.dcm"))
    ds = pydicom.dcmread(out)
    led = Ledger(env["ledger"])
    kinds = {e.kind: e.original for e in led.lookup(str(ds.PatientID))}
    assert kinds == {"PatientID": "PAT000"}
    sop = {e.kind: e.original for e in led.lookup(str(ds.SOPInstanceUID))}
    assert sop["SOPInstanceUID"].startswith("1.2.826.0.1.3680043.8.498.9")
    led.close()


def test_progress_events_and_cancel(tmp_path: Path, env: dict[str, Path]) -> None:
    inp = tmp_path / "in"
    replicate(inp, 10)
    events = []
    s = run_export(_cfg(inp, tmp_path / "out", env), progress=events.append)
    phases = [e.phase for e in events]
    assert phases[0] == "scan" and "export" in phases and phases[-1] == "done"
    last = [e for e in events if e.phase == "export"][-1]
    assert last.done == last.total == 10 and last.bytes_done == last.bytes_total > 0
    # cancel after three files: stops early, says so, and a rerun finishes the job
    seen = []
    s = run_export(
        _cfg(inp, tmp_path / "out2", env),
        progress=seen.append,
        cancel=lambda: sum(1 for e in seen if e.phase == "export" and e.status) >= 3,
    )
    assert s.cancelled and s.exported == 3
    s = run_export(_cfg(inp, tmp_path / "out2", env))
    assert s.ok and s.exported == 10 and s.resumed == 3
    assert tree(tmp_path / "out2") == tree(tmp_path / "out")


def test_header_only_export_never_loads_torch(tmp_path: Path, env: dict[str, Path]) -> None:
    import subprocess

    inp = tmp_path / "in"
    copy_inputs(inp, SMALL[:2])
    code = (
        "import sys\n"
        "from medeid_gui.export.pipeline import ExportConfig, run_export\n"
        f"s = run_export(ExportConfig(input={str(inp)!r}, output={str(tmp_path / 'out')!r}, workers=1, burned_in='off',"
        f" key_file={str(env['key'])!r}, ledger={str(env['ledger'])!r}, state_dir={str(env['state'])!r}))\n"
        "print(s.exported, 'torch' in sys.modules)\n"
    )
    res = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.split()[-2:] == ["2", "False"]


def test_deleted_output_is_exported_afresh_with_other_settings(tmp_path: Path, env: dict[str, Path]) -> None:
    """A run database whose output folder is gone must neither skip files nor refuse new settings."""
    inp = tmp_path / "in"
    copy_inputs(inp)
    out = tmp_path / "out"
    first = run_export(_cfg(inp, out, env))
    assert first.exported > 0
    shutil.rmtree(out)
    again = run_export(_cfg(inp, out, env))  # same settings: every file written again
    assert again.exported == first.exported
    assert len([p for p in out.rglob("*.dcm")]) == first.exported
    shutil.rmtree(out)
    other = run_export(_cfg(inp, out, env, fmt="npy"))  # other settings: allowed now
    assert other.failed == 0 and any(out.rglob("*.npy"))


def test_privacy_levels_are_checked_when_the_config_is_built(tmp_path: Path) -> None:
    """One check, at the boundary: ExportError for a level outside [0, 1] (NaN included)."""
    for bad in ({"privacy": 1.5}, {"privacy": float("nan")}, {"privacy_by_series": {"1.2.3": -0.1}}):
        with pytest.raises(ExportError, match="between 0 and 1"):
            ExportConfig(input=tmp_path, output=tmp_path / "out", **bad)
    cfg = ExportConfig(input=tmp_path, output=tmp_path / "out", privacy="0.25", privacy_by_series={"1.2.3": 1})
    assert cfg.privacy == 0.25 and cfg.privacy_by_series == {"1.2.3": 1.0}
    assert ExportConfig(input=tmp_path, output=tmp_path / "out").privacy_by_series is None


def test_a_series_level_alone_turns_the_pixel_step_on(tmp_path: Path, env: dict[str, Path],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """privacy 0, burned-in off, but one series at 1.0: only that series' pixels change (with a
    model declared for every image: the shipped one covers chest radiographs, not CT)."""
    from model_domains import any_image_models, fresh_engines

    monkeypatch.setenv("MEDEID_MODELS", str(any_image_models(tmp_path / "models")))
    fresh_engines(monkeypatch)
    inp = tmp_path / "in"
    files = copy_inputs(inp, ("CT_small.dcm", "MR_small.dcm"))
    ct_series = str(pydicom.dcmread(files[0], stop_before_pixels=True).SeriesInstanceUID)
    s = run_export(_cfg(inp, tmp_path / "out", env, privacy_by_series={ct_series: 1.0}))
    assert s.ok and s.exported == 2
    claims = {}
    for p in (tmp_path / "out").rglob("*.dcm"):
        ds = pydicom.dcmread(p)
        claims[str(ds.Modality)] = "113102" in str(ds.get("DeidentificationMethodCodeSequence", ""))
    assert claims == {"CT": True, "MR": False}
