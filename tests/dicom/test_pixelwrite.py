"""replace_frames writes pixels that decode back exactly and keep the file valid (dciodvfy)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file

from medeid_gui.dicom.pixelwrite import PixelWriteError, decode_stored, replace_frames

CASES = [
    "CT_small.dcm",  # signed 16-bit, rescale
    "MR_small_bigendian.dcm",  # big endian -> explicit little
    "SC_rgb_jpeg_dcmtk.dcm",  # JPEG baseline YBR_FULL -> RGB, lossy kept
    "SC_rgb_dcmtk_+eb+cy+np.dcm",  # YBR_FULL_422
    "US1_J2KR.dcm",  # J2K lossless colour (YBR_RCT)
    "emri_small_jpeg_2k_lossless.dcm",  # multi-frame J2K
    "MR2_J2KI.dcm",  # J2K lossy, already marked
    "SC_rgb_rle_2frame.dcm",  # RLE colour multi-frame
    "OBXXXX1A.dcm",  # PALETTE COLOR
]

needs_dciodvfy = pytest.mark.skipif(shutil.which("dciodvfy") is None, reason="dciodvfy not installed")


def _errors(path: Path) -> list[str]:
    out = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True)
    return [ln for ln in (out.stdout + out.stderr).splitlines() if ln.startswith("Error")]


@needs_dciodvfy
@pytest.mark.parametrize("name", CASES)
def test_round_trip_valid_and_exact(name: str, tmp_path: Path) -> None:
    src_path = get_testdata_file(name)
    src = tmp_path / "src.dcm"
    pydicom.dcmread(src_path).save_as(src)
    ds = pydicom.dcmread(src_path)
    before = decode_stored(ds)
    edited = before.copy()
    edited[:, :8, :8] = before.min()
    replace_frames(ds, edited, stored=True)
    out = tmp_path / "out.dcm"
    ds.save_as(out)
    back = pydicom.dcmread(out)
    assert not back.file_meta.TransferSyntaxUID.is_compressed
    assert back.file_meta.TransferSyntaxUID.is_little_endian
    np.testing.assert_array_equal(decode_stored(back), edited)
    if before.ndim == 4:
        assert back.PhotometricInterpretation == "RGB" and back.PlanarConfiguration == 0
    assert back.HighBit == back.BitsStored - 1
    new = [e for e in _errors(out) if e not in _errors(src)]
    assert not new, new


def test_lossy_source_stays_marked_lossy() -> None:
    ds = pydicom.dcmread(get_testdata_file("SC_rgb_jpeg_dcmtk.dcm"))
    ds.LossyImageCompressionRatio = "12.5"
    replace_frames(ds, decode_stored(ds), stored=True)
    assert (ds.LossyImageCompression, ds.LossyImageCompressionMethod) == ("01", "ISO_10918_1")
    assert float(ds.LossyImageCompressionRatio) == 12.5


def test_lossy_syntax_marked_even_when_header_forgot() -> None:
    ds = pydicom.dcmread(get_testdata_file("SC_rgb_jpeg_dcmtk.dcm"))
    del ds.LossyImageCompression, ds.LossyImageCompressionMethod
    replace_frames(ds, decode_stored(ds), stored=True)
    assert (ds.LossyImageCompression, ds.LossyImageCompressionMethod) == ("01", "ISO_10918_1")


def test_lossless_source_not_marked_lossy() -> None:
    ds = pydicom.dcmread(get_testdata_file("MR_small_RLE.dcm"))
    replace_frames(ds, decode_stored(ds), stored=True)
    assert ds.get("LossyImageCompression") in (None, "00")


def test_modality_values_invert_rescale() -> None:
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    stored = decode_stored(ds)
    original_bytes = ds.PixelData
    slope, intercept = float(ds.RescaleSlope), float(ds.RescaleIntercept)
    hu = stored.astype(np.float32) * slope + intercept
    replace_frames(ds, hu[0])  # FrameSource convention: one float frame in modality units
    assert ds.PixelData == original_bytes


def test_out_of_range_values_are_clipped_not_wrapped() -> None:
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    frame = decode_stored(ds)[0].astype(np.float64)
    frame[0, 0] = 1e9
    replace_frames(ds, frame, stored=True)
    assert decode_stored(ds)[0][0, 0] == 2 ** (ds.BitsStored - 1) - 1


def test_single_frame_multiframe_iod_keeps_number_of_frames() -> None:
    ds = pydicom.dcmread(get_testdata_file("emri_small_jpeg_2k_lossless.dcm"))
    replace_frames(ds, decode_stored(ds)[:1], stored=True)
    assert ds.NumberOfFrames == 1


def test_unsupported_input_raises_and_leaves_dataset() -> None:
    ds = pydicom.dcmread(get_testdata_file("rtdose.dcm"))
    before = ds.PixelData
    with pytest.raises(PixelWriteError, match="Bits Allocated 32"):
        replace_frames(ds, np.zeros((ds.Rows, ds.Columns)), stored=True)
    assert ds.PixelData == before
    rgb = pydicom.dcmread(get_testdata_file("US1_UNCR.dcm"))
    with pytest.raises(PixelWriteError, match="grey frames"):
        replace_frames(rgb, np.zeros((rgb.Rows, rgb.Columns)))
    big = pydicom.dcmread(get_testdata_file("MR_small_bigendian.dcm"))
    ts = big.file_meta.TransferSyntaxUID
    with pytest.raises(PixelWriteError):
        replace_frames(big, np.zeros((2, 2, 2, 2, 2)))
    assert big.file_meta.TransferSyntaxUID == ts


def test_no_pixel_data_is_a_clear_error() -> None:
    ds = pydicom.dcmread(get_testdata_file("rtplan.dcm"))
    with pytest.raises(PixelWriteError, match="no Pixel Data"):
        decode_stored(ds)
