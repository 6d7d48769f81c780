"""The fast Part 10 encoder must write exactly the bytes pydicom's ``dcmwrite`` writes."""

from __future__ import annotations

import io
import warnings

import corpora
import pytest
from pydicom.data import get_testdata_file

from medeid_gui.deid.engine import DeidConfig, Deidentifier
from medeid_gui.deid.keys import ProjectKey
from medeid_gui.dicom import encode
from medeid_gui.dicom.read import DicomReadError, read_dataset
from medeid_gui.dicom.write import meta_for_writing

PREAMBLE = b"\0" * 128


def _pydicom_bytes(ds) -> bytes:
    meta = meta_for_writing(ds)
    ds.file_meta, ds.preamble = meta, PREAMBLE
    buf = io.BytesIO()
    ds.save_as(
        buf, enforce_file_format=bool(meta.get("MediaStorageSOPClassUID") and meta.get("MediaStorageSOPInstanceUID"))
    )
    return buf.getvalue()


def _fast_bytes(ds) -> bytes:
    meta = meta_for_writing(ds)
    enforce = bool(meta.get("MediaStorageSOPClassUID") and meta.get("MediaStorageSOPInstanceUID"))
    return encode.encode_part10(ds, meta, PREAMBLE, enforce=enforce)


def _outcome(fn, ds):
    try:
        return fn(ds)
    except Exception as exc:
        return type(exc).__name__


def test_identical_to_dcmwrite_over_every_corpus_file_before_and_after_deid() -> None:
    deid = Deidentifier(DeidConfig(), ProjectKey.generate())
    compared = fast = 0
    calls: list[int] = []
    real_fast_body = encode._fast_body

    def counting(ds, ts):
        body = real_fast_body(ds, ts)
        calls.append(1)
        return body

    encode._fast_body = counting
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for path in corpora.all_corpus_files():
                for deidentified in (False, True):
                    try:
                        a, b = read_dataset(path), read_dataset(path)
                        if deidentified:
                            deid.deidentify(a)
                            deid.deidentify(b)
                    except (DicomReadError, Exception):
                        continue
                    before = len(calls)
                    assert _outcome(_fast_bytes, b) == _outcome(_pydicom_bytes, a), (path, deidentified)
                    compared += 1
                    fast += len(calls) > before
    finally:
        encode._fast_body = real_fast_body
    assert compared > 300
    # the point of the module: nearly every real file takes the fast loop
    assert fast / compared > 0.95, (fast, compared)


def test_deflated_falls_back_to_pydicom_and_big_endian_does_not() -> None:
    ds = read_dataset(get_testdata_file("image_dfl.dcm"))
    with pytest.raises(encode.FastPathUnavailable):
        encode._fast_body(ds, meta_for_writing(ds).TransferSyntaxUID)
    assert _fast_bytes(read_dataset(get_testdata_file("image_dfl.dcm"))) == _pydicom_bytes(ds)
    big = read_dataset(get_testdata_file("MR_small_bigendian.dcm"))
    assert encode._fast_body(big, meta_for_writing(big).TransferSyntaxUID)  # no fallback
    assert _fast_bytes(big) == _pydicom_bytes(read_dataset(get_testdata_file("MR_small_bigendian.dcm")))


def test_value_too_long_for_a_short_vr_goes_to_pydicom() -> None:
    ds = read_dataset(get_testdata_file("CT_small.dcm"))
    ds.ImageComments = "x" * 70000  # LT: 2-byte length in explicit VR, pydicom writes it as UN
    ref = read_dataset(get_testdata_file("CT_small.dcm"))
    ref.ImageComments = "x" * 70000
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert _fast_bytes(ds) == _pydicom_bytes(ref)


@pytest.mark.parametrize("value", ["", "1.2.3", "1.2.34", "A", "AB", "ÄÖ", None])
def test_edited_simple_values_match(value) -> None:
    ds = read_dataset(get_testdata_file("CT_small.dcm"))
    ref = read_dataset(get_testdata_file("CT_small.dcm"))
    for d in (ds, ref):
        d.StudyID = value  # SH text
        d.Modality = value if value is None or value.isascii() else "OT"  # CS string
        d.FrameOfReferenceUID = value if value is None or value.isascii() else "1.2"  # UI
        d.Rows = 7 if value else 0
        d.add_new(0x00181030, "LO", value)  # ProtocolName
    assert _fast_bytes(ds) == _pydicom_bytes(ref)
