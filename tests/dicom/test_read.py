"""read.py: the sniff rule, header-only reads, and the reasons given for files that are not DICOM."""

from __future__ import annotations

import shutil
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file

from medeid_gui.dicom.read import DicomReadError, read_dataset, read_header, read_partial_header, sniff


def _preambleless(src: Path, dst: Path) -> Path:
    """The same dataset without preamble and file meta (implicit VR), as old archives hold them."""
    ds = pydicom.dcmread(src)
    del ds.file_meta
    ds.preamble = None
    ds.save_as(dst, implicit_vr=True, little_endian=True, enforce_file_format=False)
    assert dst.read_bytes()[:2] == b"\x08\x00"
    return dst


def test_sniff_recognises_preamble_and_group_starts() -> None:
    assert sniff(b"\0" * 128 + b"DICM") == "preamble"
    assert sniff(b"\x08\x00\x05\x00CS\x0a\x00ISO_IR 100") == "no-preamble"  # explicit VR
    assert sniff(b"\x08\x00\x16\x00\x1a\x00\x00\x001.2.840") == "no-preamble"  # implicit VR
    assert sniff(b"\x00\x08\x00\x16UI\x00\x1a") == "no-preamble"  # big endian
    assert sniff(b"hello world, this is text") is None
    assert sniff(b"\x89PNG\r\n\x1a\n" + b"\0" * 200) is None
    assert sniff(b"\x08\x00") is None  # too short


def test_read_header_skips_pixels_but_reports_them() -> None:
    path = get_testdata_file("CT_small.dcm")
    ds, has_pixels = read_partial_header(path)
    assert has_pixels
    assert "PixelData" not in ds
    assert ds.Rows == 128 and ds.Modality == "CT"
    assert "PixelData" not in read_header(path)
    full = read_dataset(path)
    assert len(full.PixelData) == 128 * 128 * 2


def test_header_of_file_without_pixels() -> None:
    ds, has_pixels = read_partial_header(get_testdata_file("rtplan.dcm"))
    assert not has_pixels and ds.Modality == "RTPLAN"


def test_preambleless_file_is_read(tmp_path: Path) -> None:
    p = _preambleless(Path(get_testdata_file("MR_small.dcm")), tmp_path / "raw")
    ds = read_dataset(p)
    assert ds.preamble is None
    assert ds.SOPInstanceUID == pydicom.dcmread(get_testdata_file("MR_small.dcm")).SOPInstanceUID


@pytest.mark.parametrize(
    "content, fragment",
    [
        (b"", "empty file"),
        (b"just some notes\n" * 20, "not DICOM"),
        (b"short", "not DICOM"),
        (b"\0" * 128 + b"DICMgarbage", "truncated"),
    ],
)
def test_bad_files_raise_with_reason(tmp_path: Path, content: bytes, fragment: str) -> None:
    p = tmp_path / "bad"
    p.write_bytes(content)
    with pytest.raises(DicomReadError) as info:
        read_header(p)
    assert fragment in info.value.reason
    assert info.value.path == p


def test_truncated_in_header_and_in_pixels(tmp_path: Path) -> None:
    data = Path(get_testdata_file("CT_small.dcm")).read_bytes()
    head = tmp_path / "head_cut.dcm"
    head.write_bytes(data[:700])  # ends inside the dataset, before the pixels
    with pytest.raises(DicomReadError, match="truncated"):
        read_header(head)
    tail = tmp_path / "pixels_cut.dcm"
    tail.write_bytes(data[:-1000])
    with pytest.raises(DicomReadError, match="truncated: pixel data needs 32768 bytes"):
        read_header(tail)
    with pytest.raises(DicomReadError, match="truncated"):
        read_dataset(tail)


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(DicomReadError, match="not found"):
        read_header(tmp_path / "nope.dcm")
    with pytest.raises(DicomReadError, match="folder"):
        read_header(tmp_path)


def test_copied_file_reads_identically(tmp_path: Path) -> None:
    dst = tmp_path / "name with spaces ü 'q'.dcm"
    shutil.copy(get_testdata_file("MR_small.dcm"), dst)
    assert read_header(dst).PatientName == pydicom.dcmread(dst).PatientName


def test_safe_value_tolerates_invalid_and_multi_values() -> None:
    from medeid_gui.dicom.read import safe_value

    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    assert safe_value(ds, "ImageType") == "ORIGINAL\\PRIMARY\\AXIAL"
    assert safe_value(ds, "Rows", 0, int) == 128
    assert safe_value(ds, "NotThere", "dflt") == "dflt"
    bad = read_header(get_testdata_file("badVR.dcm"))  # NumberOfFrames is "1A"
    assert safe_value(bad, "NumberOfFrames", -1, int) == -1
