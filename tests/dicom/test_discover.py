"""discover.py over the real corpora and over awkward folders (odd names, junk, DICOMDIRs, no access)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import corpora
import pydicom
import pydicom.data
import pytest
from pydicom.data import get_testdata_file

from medeid_gui.dicom.discover import discover

DICOMDIR_TESTS = Path(pydicom.data.__file__).parent / "test_files" / "dicomdirtests"


def test_every_corpus_file_is_an_instance_a_dicomdir_or_rejected_with_reason() -> None:
    files = corpora.all_corpus_files()
    assert len(files) > 200
    result = discover(files)
    assert result.n_seen == len(set(files))
    got = {i.path for i in result.instances} | set(result.dicomdirs) | {r.path for r in result.rejected}
    assert set(files) <= got
    assert all(r.reason for r in result.rejected)
    # the files pydicom itself reads without force and that carry a SOP instance are instances
    inst = {i.path for i in result.instances}
    for f in files:
        if f.name in (
            "CT_small.dcm",
            "MR_small_RLE.dcm",
            "emri_small_jpeg_2k_lossless.dcm",
            "color3d_jpeg_baseline.dcm",
        ):
            assert f in inst
    by_name = {r.path.name: r.reason for r in result.rejected}
    assert by_name["MR_truncated.dcm"].startswith("truncated")
    assert by_name["rtplan_truncated.dcm"].startswith("truncated")
    # deterministic order
    assert [i.path for i in result.instances] == sorted(i.path for i in result.instances)


def test_instance_fields_match_the_header() -> None:
    path = Path(get_testdata_file("CT_small.dcm"))
    ds = pydicom.dcmread(path)
    (ref,) = discover([path]).instances
    assert ref.path == path and ref.size == path.stat().st_size
    assert ref.patient_id == ds.PatientID and ref.patient_name == str(ds.PatientName)
    assert ref.study_uid == ds.StudyInstanceUID and ref.series_uid == ds.SeriesInstanceUID
    assert ref.sop_instance_uid == ds.SOPInstanceUID and ref.sop_class_uid == ds.SOPClassUID
    assert ref.modality == "CT" and ref.rows == 128 and ref.columns == 128
    assert ref.has_pixels and ref.number_of_frames == 1
    assert ref.transfer_syntax == ds.file_meta.TransferSyntaxUID
    assert ref.study_date == ds.StudyDate and ref.instance_number == int(ds.InstanceNumber)
    assert ref.sop_class_name == "CT Image Storage"


def test_multiframe_and_no_pixel_instances() -> None:
    emri = next(f for f in corpora.pydicom_data() if f.name == "emri_small.dcm")
    rtplan = Path(get_testdata_file("rtplan.dcm"))
    res = discover([emri, rtplan])
    refs = {r.path.name: r for r in res.instances}
    assert refs["emri_small.dcm"].number_of_frames == 10 and refs["emri_small.dcm"].has_pixels
    assert not refs["rtplan.dcm"].has_pixels and refs["rtplan.dcm"].number_of_frames == 0


def _preambleless(src: str, dst: Path) -> None:
    ds = pydicom.dcmread(src)
    del ds.file_meta
    ds.preamble = None
    ds.save_as(dst, implicit_vr=True, little_endian=True, enforce_file_format=False)


def test_mixed_folder(tmp_path: Path) -> None:
    src = Path(get_testdata_file("CT_small.dcm"))
    (tmp_path / "sub dir" / "deeper").mkdir(parents=True)
    shutil.copy(src, tmp_path / "plain.dcm")
    shutil.copy(src, tmp_path / "sub dir" / "IM 0001")  # space, no extension
    shutil.copy(get_testdata_file("MR_small.dcm"), tmp_path / "sub dir" / "deeper" / "Müller 'quoted' \"x\".bin")
    _preambleless(get_testdata_file("MR_small.dcm"), tmp_path / "raw_no_preamble")
    (tmp_path / "notes.txt").write_text("Patientenliste für Zürich\n" * 50, encoding="utf-8")
    (tmp_path / "empty.dcm").write_bytes(b"")
    (tmp_path / "cut.dcm").write_bytes(src.read_bytes()[:5000])
    (tmp_path / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 300)
    os.mkfifo(tmp_path / "a_fifo")  # must be reported, not opened (opening would block)
    (tmp_path / "dangling").symlink_to(tmp_path / "missing")
    (tmp_path / "sub dir" / "loop").symlink_to(tmp_path, target_is_directory=True)  # a cycle

    seen: list[int] = []
    res = discover(tmp_path, progress=seen.append)
    names = sorted(i.path.name for i in res.instances)
    assert names == sorted(["plain.dcm", "IM 0001", "Müller 'quoted' \"x\".bin", "raw_no_preamble"])
    rej = {r.path.name: r.reason for r in res.rejected}
    assert rej["notes.txt"] == "not DICOM: a text file"
    assert rej["image.png"] == "not DICOM: a PNG image"
    assert rej["empty.dcm"] == "empty file"
    assert rej["cut.dcm"].startswith("truncated")
    assert rej["a_fifo"] == "not a regular file"
    assert rej["dangling"] == "broken symbolic link"
    assert rej["loop"].startswith("link to a folder: not followed")
    assert seen == list(range(1, res.n_seen + 1)) and res.n_seen == 10
    raw = next(i for i in res.instances if i.path.name == "raw_no_preamble")
    assert not raw.has_preamble and raw.transfer_syntax == "1.2.840.10008.1.2" and raw.has_pixels
    # same result twice, same order
    again = discover(tmp_path)
    assert again.instances == res.instances and again.rejected == res.rejected


def test_cancel_stops_early(tmp_path: Path) -> None:
    for k in range(5):
        shutil.copy(get_testdata_file("CT_small.dcm"), tmp_path / f"{k}.dcm")
    calls = {"n": 0}

    def cancel() -> bool:
        calls["n"] += 1
        return calls["n"] > 2

    res = discover(tmp_path, cancel=cancel)
    assert res.cancelled and len(res.instances) == 2 and res.n_seen == 2


def test_missing_path_is_rejected(tmp_path: Path) -> None:
    res = discover([tmp_path / "nowhere"])
    assert res.instances == [] and res.rejected[0].reason == "file not found"


def test_dicomdir_folder(tmp_path: Path) -> None:
    """The DICOMDIR is an index, not an instance; its referenced files are all found."""
    root = tmp_path / "media"
    shutil.copytree(DICOMDIR_TESTS, root)
    res = discover(root)
    assert root / "DICOMDIR" in res.dicomdirs
    assert all(i.sop_class_uid != "1.2.840.10008.1.3.10" for i in res.instances)
    ds = pydicom.dcmread(root / "DICOMDIR")
    referenced = {root.joinpath(*r.ReferencedFileID) for r in ds.DirectoryRecordSequence if "ReferencedFileID" in r}
    assert referenced <= {i.path for i in res.instances}


def test_dicomdir_given_alone_finds_oddly_cased_references(tmp_path: Path) -> None:
    """Media written upper case and copied to a case-sensitive disk in lower case still resolve."""
    root = tmp_path / "cd"
    shutil.copytree(DICOMDIR_TESTS / "98892001", root / "98892001")
    shutil.copy(DICOMDIR_TESTS / "DICOMDIR", root / "DICOMDIR")
    for p in sorted(root.rglob("*"), key=lambda p: -len(p.parts)):
        if p.name != "DICOMDIR":
            p.rename(p.with_name(p.name.lower()))
    res = discover([root / "DICOMDIR"])  # only the index is given
    ds = pydicom.dcmread(root / "DICOMDIR")
    expected = sum(
        1 for r in ds.DirectoryRecordSequence if "ReferencedFileID" in r and r.ReferencedFileID[0] == "98892001"
    )
    assert expected > 0 and len(res.instances) == expected
    assert all(p.path.name == p.path.name.lower() for p in res.instances)
    # references into folders that are not there are reported, not fatal
    assert any("referenced by DICOMDIR but not found" in r.reason for r in res.rejected)


def _discover_as_nobody(folder: Path) -> dict:
    """Run discovery with effective uid 65534 in a child interpreter (root ignores file modes)."""
    code = f"""
import json, os
from pydicom.data import get_testdata_file
from medeid_gui.dicom.discover import discover
discover([get_testdata_file("CT_small.dcm")])  # import everything lazily loaded while still root
os.setegid(65534); os.seteuid(65534)
r = discover({str(folder)!r})
os.seteuid(0); os.setegid(0)
print(json.dumps({{"inst": [str(i.path) for i in r.instances], "rej": {{str(x.path): x.reason for x in r.rejected}}}}))
"""
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_permission_denied_file_and_folder() -> None:
    if sys.platform == "win32":
        pytest.skip("POSIX permissions")
    base = Path(tempfile.mkdtemp(prefix="medeid-perm-"))
    try:
        os.chmod(base, 0o755)
        shutil.copy(get_testdata_file("CT_small.dcm"), base / "ok.dcm")
        os.chmod(base / "ok.dcm", 0o644)
        shutil.copy(get_testdata_file("MR_small.dcm"), base / "locked.dcm")
        os.chmod(base / "locked.dcm", 0o000)
        (base / "closed").mkdir()
        shutil.copy(get_testdata_file("MR_small.dcm"), base / "closed" / "x.dcm")
        os.chmod(base / "closed", 0o000)
        if os.geteuid() == 0:
            got = _discover_as_nobody(base)
        else:
            r = discover(base)
            got = {"inst": [str(i.path) for i in r.instances], "rej": {str(x.path): x.reason for x in r.rejected}}
        assert got["inst"] == [str(base / "ok.dcm")]
        assert got["rej"][str(base / "locked.dcm")].startswith("permission denied")
        assert got["rej"][str(base / "closed")].startswith("permission denied")
    finally:
        os.chmod(base / "closed", 0o755)
        shutil.rmtree(base)


def test_raw_byte_fast_path_equals_pydicom_conversion() -> None:
    """Discovery reads ASCII-only attributes from raw bytes; the result must equal pydicom's values."""
    import dataclasses
    import warnings

    from medeid_gui.dicom.discover import instance_ref
    from medeid_gui.dicom.read import read_partial_header

    res = discover(corpora.all_corpus_files())
    for ref in res.instances:
        ds, has_pixels = read_partial_header(ref.path)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for _elem in ds:  # iterating converts every raw element, so the slow path is taken
                pass
            for _elem in ds.file_meta:
                pass
        slow = instance_ref(ref.path, ds, has_pixels)
        assert dataclasses.asdict(slow) == dataclasses.asdict(ref), ref.path


def test_parallel_map_gives_the_serial_result(tmp_path: Path) -> None:
    """A process pool's map (as the batch export uses) finds exactly what a serial run finds,
    including DICOMDIR references that only become known after the walk (a DICOMDIR given alone)."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    files = list(corpora.pydicom_testdata())
    root = tmp_path / "cd"
    shutil.copytree(DICOMDIR_TESTS, root)
    serial = discover(files + [root / "DICOMDIR"])
    with ProcessPoolExecutor(2, mp_context=mp.get_context("spawn")) as ex:
        parallel = discover(files + [root / "DICOMDIR"], map_fn=lambda f, xs: ex.map(f, xs, chunksize=8))
    assert parallel.n_seen == serial.n_seen
    assert parallel.instances == serial.instances
    assert parallel.rejected == serial.rejected
    assert parallel.dicomdirs == serial.dicomdirs
    assert any(i.path.is_relative_to(root) for i in parallel.instances)
