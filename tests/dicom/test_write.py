"""write.py: round trips over the corpora, file meta consistency, and no debris on failure."""

from __future__ import annotations

import os
from pathlib import Path

import corpora
import pydicom
import pytest
from pydicom.data import get_testdata_file

from medeid_gui.dicom.read import DicomReadError, read_dataset
from medeid_gui.dicom.write import DicomWriteError, write_atomic


def test_round_trip_over_corpora(tmp_path: Path) -> None:
    written = 0
    for k, path in enumerate(corpora.all_corpus_files()):
        try:
            ds = read_dataset(path)
        except DicomReadError:
            continue
        target = tmp_path / f"{k}.dcm"
        try:
            size = write_atomic(ds, target)
        except DicomWriteError as exc:
            assert exc.reason and not target.exists()
            continue
        assert size == target.stat().st_size
        back = pydicom.dcmread(target)
        meta = getattr(ds, "file_meta", None)
        if meta is not None and "TransferSyntaxUID" in meta:
            assert back.file_meta.TransferSyntaxUID == meta.TransferSyntaxUID
        if "SOPInstanceUID" in ds:
            assert back.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
        if "PixelData" in ds:
            assert back.PixelData == ds.PixelData
        written += 1
    assert written > 200
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".")]


def test_meta_follows_new_uid_and_input_is_unchanged(tmp_path: Path) -> None:
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    old_meta = pydicom.dataset.FileMetaDataset(ds.file_meta)
    ds.SOPInstanceUID = "2.25.1234"
    write_atomic(ds, tmp_path / "x.dcm")
    back = pydicom.dcmread(tmp_path / "x.dcm")
    assert back.file_meta.MediaStorageSOPInstanceUID == "2.25.1234"
    assert back.preamble == b"\0" * 128
    assert ds.file_meta == old_meta  # the caller's dataset is left as it was


def test_preambleless_input_gets_a_proper_file(tmp_path: Path) -> None:
    ds = pydicom.dcmread(get_testdata_file("MR_small.dcm"))
    del ds.file_meta
    ds.preamble = None
    ds.save_as(tmp_path / "raw", implicit_vr=True, little_endian=True, enforce_file_format=False)
    raw = read_dataset(tmp_path / "raw")
    write_atomic(raw, tmp_path / "out.dcm")
    data = (tmp_path / "out.dcm").read_bytes()
    assert data[128:132] == b"DICM"
    back = pydicom.dcmread(tmp_path / "out.dcm")
    assert back.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2"
    assert back.PixelData == raw.PixelData


def test_failure_leaves_target_and_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "x.dcm"
    target.write_bytes(b"previous content")
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    ds.add_new(0x00091001, "US", "not a number")  # cannot be encoded -> fails mid-write
    with pytest.raises(DicomWriteError, match="cannot encode"):
        write_atomic(ds, target)
    assert target.read_bytes() == b"previous content"
    assert sorted(os.listdir(tmp_path)) == ["x.dcm"]


def test_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    with pytest.raises(DicomWriteError, match="folder does not exist"):
        write_atomic(ds, tmp_path / "nope" / "x.dcm")
