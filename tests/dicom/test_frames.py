"""frames.py: decoded values against pydicom's own full decode, per transfer syntax; windows."""

from __future__ import annotations

import functools
from pathlib import Path

import corpora
import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.pixels import apply_color_lut, apply_modality_lut

from medeid_gui.dicom.frames import CT_PRESETS, FrameSource, PixelDecodeError, Window, apply_window
from medeid_gui.dicom.read import read_dataset


@functools.cache
def _files() -> dict[str, Path]:
    return {f.name: f for f in corpora.all_corpus_files()}


def f(name: str) -> Path:
    return _files()[name]


def _check(arr: np.ndarray, shape: tuple[int, ...]) -> None:
    assert arr.dtype == np.float32 and arr.flags.c_contiguous and arr.shape == shape


def test_ct_signed_with_rescale() -> None:
    ds = pydicom.dcmread(f("CT_small.dcm"))
    assert ds.PixelRepresentation == 1 and ds.RescaleIntercept == -1024
    src = FrameSource(f("CT_small.dcm"))
    frame = src.frame(0)
    _check(frame, (128, 128))
    assert src.shape == (128, 128) and src.n_frames == 1 and not src.is_color and not src.invert_display
    np.testing.assert_array_equal(frame, apply_modality_lut(ds.pixel_array, ds).astype(np.float32))
    assert frame.min() < 0  # Hounsfield units, not stored values


@pytest.mark.parametrize(
    "name",
    [
        "MR_small_RLE.dcm",
        "MR_small_jp2klossless.dcm",
        "MR_small_jpeg_ls_lossless.dcm",
        "MR_small_bigendian.dcm",
        "MR_small_implicit.dcm",
        "MR_small_expb.dcm",
    ],
)
def test_mr_every_lossless_syntax_equals_uncompressed(name: str) -> None:
    ref = FrameSource(f("MR_small.dcm")).frame(0)
    np.testing.assert_array_equal(FrameSource(f(name)).frame(0), ref)
    assert np.array_equal(ref, pydicom.dcmread(f("MR_small.dcm")).pixel_array.astype(np.float32))


def test_deflated_file() -> None:
    path = Path(get_testdata_file("image_dfl.dcm"))
    frame = FrameSource(path).frame(0)
    ds = pydicom.dcmread(path)
    _check(frame, (ds.Rows, ds.Columns))
    np.testing.assert_array_equal(frame, apply_modality_lut(ds.pixel_array, ds).astype(np.float32))


def test_rgb_syntaxes() -> None:
    ref = FrameSource(f("SC_rgb.dcm")).frame(0)
    _check(ref, (100, 100, 3))
    for name in ("SC_rgb_rle.dcm", "SC_rgb_jpeg_gdcm.dcm", "SC_rgb_gdcm_KY.dcm"):  # lossless
        src = FrameSource(f(name))
        assert src.is_color and src.shape == (100, 100, 3)
        np.testing.assert_array_equal(src.frame(0), ref)
    # lossy JPEG stored as YBR_FULL, and uncompressed YBR_FULL_422: converted to RGB, close to the source
    for name in ("SC_rgb_jpeg_dcmtk.dcm", "SC_ybr_full_422_uncompressed.dcm"):
        src = FrameSource(f(name))
        assert src.photometric.startswith("YBR")
        diff = np.abs(src.frame(0) - ref)
        assert diff.mean() < 1.0 and diff.max() <= 8
    # JPEG 2000 with YBR_RCT colour transform is lossless RGB
    np.testing.assert_array_equal(FrameSource(f("US1_J2KR.dcm")).frame(0), FrameSource(f("US1_UNCR.dcm")).frame(0))


def test_palette_colour() -> None:
    ds = pydicom.dcmread(f("OBXXXX1A.dcm"))
    src = FrameSource(f("OBXXXX1A.dcm"))
    assert src.is_color and src.shape == (ds.Rows, ds.Columns, 3)
    np.testing.assert_array_equal(src.frame(0), apply_color_lut(ds.pixel_array, ds).astype(np.float32))


@pytest.mark.parametrize("name", ["emri_small.dcm", "emri_small_RLE.dcm", "emri_small_jpeg_2k_lossless.dcm"])
def test_multiframe_frame_k_equals_pixel_array_k(name: str) -> None:
    full = pydicom.dcmread(f(name)).pixel_array
    src = FrameSource(f(name))
    assert src.n_frames == 10 == full.shape[0]
    for k in (0, 4, 9):
        frame = src.frame(k)
        _check(frame, full.shape[1:])
        np.testing.assert_array_equal(frame, full[k].astype(np.float32))
    assert src._full is None  # decoded from the file one frame at a time, never the whole dataset
    frames = list(src.iter_frames())
    assert len(frames) == 10
    np.testing.assert_array_equal(np.stack(frames), full.astype(np.float32))
    with pytest.raises(IndexError):
        src.frame(10)


def test_multiframe_colour_jpeg_baseline() -> None:
    path = f("color3d_jpeg_baseline.dcm")
    src = FrameSource(path)
    assert src.n_frames == 120 and src.is_color
    frame = src.frame(77)
    _check(frame, src.shape)
    ref = pydicom.pixels.iter_pixels(path, indices=[77])
    np.testing.assert_array_equal(frame, next(ref).astype(np.float32))


def test_enhanced_ct_rescale_from_functional_groups() -> None:
    ds = pydicom.dcmread(f("eCT_Supplemental.dcm"))
    assert "RescaleIntercept" not in ds
    pvt = ds.SharedFunctionalGroupsSequence[0].PixelValueTransformationSequence[0]
    src = FrameSource(f("eCT_Supplemental.dcm"))
    expected = ds.pixel_array[1].astype(np.float64) * float(pvt.RescaleSlope) + float(pvt.RescaleIntercept)
    np.testing.assert_array_equal(src.frame(1), expected.astype(np.float32))
    voi = ds.SharedFunctionalGroupsSequence[0].FrameVOILUTSequence[0]
    w = src.default_window()
    assert (w.center, w.width) == (float(voi.WindowCenter), float(voi.WindowWidth))


def test_modality_lut_sequence() -> None:
    ds = pydicom.dcmread(f("mlut_18.dcm"))
    frame = FrameSource(f("mlut_18.dcm")).frame(0)
    np.testing.assert_array_equal(frame, apply_modality_lut(ds.pixel_array, ds).astype(np.float32))


def test_monochrome1_flagged_not_inverted() -> None:
    ds = pydicom.dcmread(f("RG1_UNCR.dcm"))
    src = FrameSource(f("RG1_UNCR.dcm"))
    assert src.invert_display
    np.testing.assert_array_equal(src.frame(0), ds.pixel_array.astype(np.float32))


def test_dataset_source_including_one_without_file_meta(tmp_path: Path) -> None:
    ds = pydicom.dcmread(f("CT_small.dcm"))
    by_path = FrameSource(f("CT_small.dcm")).frame(0)
    np.testing.assert_array_equal(FrameSource(ds).frame(0), by_path)
    del ds.file_meta
    ds.preamble = None
    raw = tmp_path / "raw"
    ds.save_as(raw, implicit_vr=True, little_endian=True, enforce_file_format=False)
    np.testing.assert_array_equal(FrameSource(raw).frame(0), by_path)
    np.testing.assert_array_equal(FrameSource(read_dataset(raw)).frame(0), by_path)


def test_decode_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(PixelDecodeError, match="no pixel data"):
        FrameSource(get_testdata_file("rtplan.dcm"))
    with pytest.raises(PixelDecodeError, match="truncated"):
        FrameSource(f("MR_truncated.dcm"))
    # a 12-bit JPEG with a corrupt stream: no installed plugin decodes it
    src = FrameSource(f("JPEG-lossy.dcm"))
    with pytest.raises(PixelDecodeError) as info:
        src.frame(0)
    assert "JPEG Extended" in info.value.reason and "\n" not in info.value.reason
    bad = tmp_path / "garbled.dcm"
    ds = pydicom.dcmread(f("MR_small_RLE.dcm"))
    data = bytearray(ds.PixelData)
    data[40:] = b"\xff" * (len(data) - 40)  # RLE segments destroyed
    ds.PixelData = bytes(data)
    ds.save_as(bad)
    with pytest.raises(PixelDecodeError, match="cannot decode pixel data"):
        FrameSource(bad).frame(0)


def test_every_corpus_image_decodes_or_raises_pixel_decode_error() -> None:
    from medeid_gui.dicom.discover import discover

    decoded = 0
    for inst in discover(corpora.all_corpus_files()).instances:
        if not inst.has_pixels:
            continue
        try:
            src = FrameSource(inst.path, cache_frames=0)
            frame = src.frame(src.n_frames - 1)
        except PixelDecodeError as exc:
            assert exc.reason
            continue
        _check(frame, src.shape)
        out = apply_window(frame, src.default_window(), invert=src.invert_display)
        assert out.shape == frame.shape and 0.0 <= out.min() and out.max() <= 1.0
        decoded += 1
    assert decoded > 150


# ---- windows ----------------------------------------------------------------------------------


def test_header_window_multi_valued_takes_first_and_presets_list_all() -> None:
    src = FrameSource(f("MR-SIEMENS-DICOM-WithOverlays.dcm"))
    ds = pydicom.dcmread(f("MR-SIEMENS-DICOM-WithOverlays.dcm"))
    w = src.default_window()
    assert (w.center, w.width) == (float(ds.WindowCenter[0]), float(ds.WindowWidth[0]))
    names = [p.name for p in src.window_presets()]
    assert len([p for p in src.window_presets() if p.name not in ("Auto", "Full range")]) == 2
    assert names[-2:] == ["Auto", "Full range"]


def test_ct_presets_and_header_window() -> None:
    src = FrameSource(f("693_UNCR.dcm"))
    presets = src.window_presets()
    assert presets[0].center == 40.0
    for p in CT_PRESETS:
        assert p in presets
    assert {"Lung", "Mediastinum", "Bone", "Brain"} <= {p.name for p in presets}
    assert not any(p.name == "Lung" for p in FrameSource(f("MR_small.dcm")).window_presets())


def test_percentile_window_when_header_has_none() -> None:
    src = FrameSource(f("emri_small.dcm"))
    assert "WindowCenter" not in src.header
    w = src.default_window()
    frame = src.frame(0)
    assert w.name == "Auto" and frame.min() <= w.low < w.high <= frame.max() + 1
    # a 0.5 .. 99.5 percentile window: at most ~0.5 % of pixels fall outside on each side
    assert (frame > w.high).mean() <= 0.006 and (frame < w.low).mean() <= 0.006
    assert (frame > w.low).mean() > 0.5


def test_voi_lut_function_and_table() -> None:
    w = FrameSource(f("vlut_04.dcm")).default_window()
    assert w.name == "VOI LUT range" and w.width > 0


def test_apply_window_linear_matches_standard_formula() -> None:
    # PS3.3 C.11.2.1.2.1: c=40, w=400: x <= -160 -> 0; x > 239 -> 1; else ((x-39.5)/399 + 0.5)
    x = np.array([-1000, -160, -159, 39.5, 239, 239.5, 3000], dtype=np.float32)
    y = apply_window(x, Window(40, 400))
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, [0, 0, (-159 - 39.5) / 399 + 0.5, 0.5, (239 - 39.5) / 399 + 0.5, 1, 1], atol=2e-3)
    assert apply_window(x, Window(40, 400), invert=True)[0] == 1.0


def test_apply_window_exact_sigmoid_and_colour() -> None:
    x = np.array([0.0, 50.0, 100.0], dtype=np.float32)
    np.testing.assert_allclose(apply_window(x, Window(50, 100, function="LINEAR_EXACT")), [0.0, 0.5, 1.0])
    s = apply_window(x, Window(50, 100, function="SIGMOID"))
    assert s[1] == pytest.approx(0.5) and s[0] < 0.5 < s[2] and 0 < s[0]
    rgb = np.random.default_rng(0).integers(0, 256, (4, 5, 3)).astype(np.float32)
    out = apply_window(rgb, Window(127.5, 256))
    assert out.shape == rgb.shape and out.flags.c_contiguous
    np.testing.assert_array_less(np.abs(out - rgb / 255.0), 0.01)
    assert set(np.unique(apply_window(x, Window(50, 0.5)))) <= {0.0, 1.0}


def test_float_pixel_data_is_not_rescaled(tmp_path: Path) -> None:
    ds = pydicom.dcmread(f("CT_small.dcm"))
    values = np.linspace(-1.5, 2.5, 128 * 128, dtype=np.float32).reshape(128, 128)
    del ds.PixelData
    for kw in ("BitsStored", "HighBit", "PixelRepresentation", "WindowCenter", "WindowWidth"):
        if kw in ds:
            delattr(ds, kw)
    ds.BitsAllocated = 32
    ds.FloatPixelData = values.tobytes()
    ds.save_as(tmp_path / "float.dcm")
    assert ds.RescaleIntercept == -1024  # still present: must not be applied to float data
    src = FrameSource(tmp_path / "float.dcm")
    np.testing.assert_array_equal(src.frame(0), values)
    assert src.default_window().name == "Auto"
