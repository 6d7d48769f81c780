"""Discovery's byte-level header reader must agree with pydicom wherever it answers."""

from __future__ import annotations

import dataclasses
import random
import shutil
import warnings
from pathlib import Path

import corpora
import pytest
from pydicom.charset import convert_encodings
from pydicom.data import get_testdata_file
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.tag import BaseTag

from medeid_gui.dicom import discover as disc
from medeid_gui.dicom.quickscan import READ_BYTES, quick_header
from medeid_gui.dicom.read import DicomReadError, read_partial_header, safe_value


def _via_pydicom(path: Path):
    try:
        ds, has_pixels = read_partial_header(path, specific_tags=disc._TAGS)
    except DicomReadError as exc:
        return ("rejected", exc.reason)
    return "dicomdir" if disc._is_dicomdir(ds) else disc.instance_ref(path, ds, has_pixels)


def _via_quick(path: Path):
    got = quick_header(path, disc._TAGS)
    if got is None:
        return None
    ds, has_pixels = got
    return "dicomdir" if disc._is_dicomdir(ds) else disc.instance_ref(path, ds, has_pixels)


def test_agrees_with_pydicom_on_every_corpus_file_it_reads() -> None:
    answered = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        files = corpora.all_corpus_files()
        for path in files:
            quick = _via_quick(path)
            if quick is None:
                continue
            answered += 1
            assert quick == _via_pydicom(path), path
    assert answered > 0.7 * len(files)  # most real files take the fast way


def test_text_fields_from_raw_bytes_match_pydicom_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    """The raw-ASCII shortcut for names/IDs/descriptions gives what full decoding gives."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for path in corpora.all_corpus_files():
            try:
                ds, has_pixels = read_partial_header(path, specific_tags=disc._TAGS)
            except DicomReadError:
                continue
            if disc._is_dicomdir(ds):
                continue
            fast = disc.instance_ref(path, ds, has_pixels)
            with monkeypatch.context() as m:
                m.setattr(disc, "_TEXT_TAGS", frozenset())
                ds2, _ = read_partial_header(path, specific_tags=disc._TAGS)
                slow = disc.instance_ref(path, ds2, has_pixels)
            assert fast == slow, path


def test_plain_ascii_text_matches_pydicom_on_generated_values() -> None:
    rng = random.Random(7)
    alphabet = "AB z^\\=1.-'\"()\t\0é"
    cases = [("LO", 0x00100020, "PatientID"), ("PN", 0x00100010, "PatientName"), ("SH", 0x00200010, "StudyID")]
    checked = 0
    for vr, tag, keyword in cases:
        for _ in range(3000):
            text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
            raw = text.encode("latin-1")
            for implicit in (False, True):
                for charset in (["ISO_IR 100"], ["ISO_IR 192"], ["", "ISO 2022 IR 87"]):
                    fast = disc._plain_ascii_text(raw, tag == 0x00100010)
                    if fast is None:
                        continue
                    ds = Dataset(
                        {
                            BaseTag(tag): RawDataElement(
                                BaseTag(tag), None if implicit else vr, len(raw), raw, 0, implicit, True
                            )
                        }
                    )
                    ds.set_original_encoding(implicit, True, convert_encodings(charset))
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        assert fast == str(safe_value(ds, keyword, "", str)).strip(), (vr, text, charset)
                    checked += 1
    assert checked > 5000


@pytest.mark.parametrize("name", ["image_dfl.dcm", "no_meta.dcm"])
def test_unusual_files_are_left_to_pydicom(name: str) -> None:
    assert quick_header(Path(get_testdata_file(name)), disc._TAGS) is None


def test_truncated_and_long_headers_are_left_to_pydicom(tmp_path: Path) -> None:
    src = Path(get_testdata_file("CT_small.dcm"))
    data = src.read_bytes()
    cut = tmp_path / "cut.dcm"
    cut.write_bytes(data[:900])  # ends inside the header
    assert quick_header(cut, disc._TAGS) is None
    assert disc._examine(cut) == _via_pydicom(cut)  # the full reader decides
    pix = tmp_path / "pix.dcm"
    pix.write_bytes(data[:7000])  # pixel data (from byte 6300) shorter than its length
    assert quick_header(pix, disc._TAGS) is None
    assert "truncated" in disc._examine(pix).reason
    # a header longer than the first read: pydicom reads it
    import pydicom

    ds = pydicom.dcmread(src)
    ds.ImageComments = "x" * (READ_BYTES + 10)
    big = tmp_path / "big.dcm"
    ds.save_as(big)
    assert quick_header(big, disc._TAGS) is None
    assert isinstance(disc._examine(big), disc.InstanceRef)


def test_undefined_length_sequences_are_skipped(tmp_path: Path) -> None:
    import pydicom

    src = Path(get_testdata_file("CT_small.dcm"))
    ds = pydicom.dcmread(src)
    inner = Dataset()
    inner.CodeValue = "1"
    inner.ConceptCodeSequence = [Dataset()]
    outer = Dataset()
    outer.ConceptNameCodeSequence = [inner]
    ds.ContentSequence = [outer, Dataset()]
    for seq in (ds.ContentSequence, outer.ConceptNameCodeSequence, inner.ConceptCodeSequence):
        seq.is_undefined_length = True  # type: ignore[attr-defined]
    ds["ContentSequence"].is_undefined_length = True
    outer.is_undefined_length_sequence_item = True
    out = tmp_path / "seq.dcm"
    ds.save_as(out)
    assert quick_header(out, disc._TAGS) is not None
    assert _via_quick(out) == _via_pydicom(out)
    copy = tmp_path / "copy"
    copy.mkdir()
    shutil.copy(out, copy / "a")
    assert [i.sop_instance_uid for i in disc.discover(copy).instances] == [ds.SOPInstanceUID]
    assert dataclasses.replace(_via_quick(out), path=out) == _via_pydicom(out)


def test_big_endian_is_read_quickly_and_alike() -> None:
    path = Path(get_testdata_file("MR_small_bigendian.dcm"))
    assert quick_header(path, disc._TAGS) is not None
    assert _via_quick(path) == _via_pydicom(path)
