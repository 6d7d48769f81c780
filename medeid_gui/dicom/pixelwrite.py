"""Write changed frames back into a dataset as uncompressed native Pixel Data.

Why one function: after burned-in text redaction or identity blocking the pixels no longer match
the compressed bitstream, and every attribute that describes the pixels (Transfer Syntax,
Photometric Interpretation, Planar Configuration, Bits Allocated/Stored/High Bit, Pixel
Representation, Number of Frames, Lossy Image Compression) must agree with the new bytes or the
file stops validating.  Keeping these rules in one place means redaction and the privacy level
write pixels the same way.

Conventions:

* ``frames`` are what :func:`decode_stored` returns (``stored=True``: stored values, colour already
  converted to RGB) or what ``dicom.frames.FrameSource`` returns (``stored=False``: modality values,
  i.e. Rescale Slope/Intercept applied, which are inverted here).
* Colour frames are written as RGB, Planar Configuration 0; YBR_* sources become RGB because
  pydicom decodes them to RGB.  PALETTE COLOR sources given RGB frames become RGB (the palette
  descriptors are removed); given single-sample frames they stay PALETTE COLOR.
* Values outside the range Bits Stored / Pixel Representation allow are clipped (never wrapped).
* The Transfer Syntax becomes Explicit VR Little Endian when the source was compressed or big
  endian; an uncompressed little-endian source keeps its syntax.
* A lossy source stays marked lossy: Lossy Image Compression "01" with its method (and ratio when
  known) preserved, as PS3.3 C.7.6.1.1.5 requires once an image has ever been lossy compressed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from pydicom.dataset import Dataset
from pydicom.uid import UID, ExplicitVRLittleEndian

__all__ = ["replace_frames", "decode_stored", "stored_range", "PixelWriteError", "LOSSY_METHODS"]


class PixelWriteError(ValueError):
    """The frames cannot be written into this dataset (shape or pixel format not supported)."""


#: Transfer syntaxes that are always lossy -> the Lossy Image Compression Method code (CID 7013).
LOSSY_METHODS: dict[str, str] = {
    "1.2.840.10008.1.2.4.50": "ISO_10918_1",  # JPEG Baseline
    "1.2.840.10008.1.2.4.51": "ISO_10918_1",  # JPEG Extended
    "1.2.840.10008.1.2.4.81": "ISO_14495_1",  # JPEG-LS near-lossless
    "1.2.840.10008.1.2.4.100": "ISO_13818_2",  # MPEG2 MP@ML
    "1.2.840.10008.1.2.4.101": "ISO_13818_2",
    "1.2.840.10008.1.2.4.102": "ISO_14496_10",  # MPEG-4 AVC/H.264
    "1.2.840.10008.1.2.4.103": "ISO_14496_10",
    "1.2.840.10008.1.2.4.104": "ISO_14496_10",
    "1.2.840.10008.1.2.4.105": "ISO_14496_10",
    "1.2.840.10008.1.2.4.106": "ISO_14496_10",
    "1.2.840.10008.1.2.4.107": "ISO_23008_2",  # HEVC
    "1.2.840.10008.1.2.4.108": "ISO_23008_2",
    "1.2.840.10008.1.2.4.111": "ISO_18181_1",  # JPEG XL
}
#: Syntaxes that may be lossy or lossless (the header must say which); method if it says lossy.
MAYBE_LOSSY_METHODS: dict[str, str] = {
    "1.2.840.10008.1.2.4.91": "ISO_15444_1",  # JPEG 2000
    "1.2.840.10008.1.2.4.93": "ISO_15444_2",  # JPEG 2000 Part 2
    "1.2.840.10008.1.2.4.203": "ISO_15444_15",  # HTJ2K
    "1.2.840.10008.1.2.4.112": "ISO_18181_1",  # JPEG XL recompression
}

_PALETTE_KEYWORDS = (
    "RedPaletteColorLookupTableDescriptor",
    "GreenPaletteColorLookupTableDescriptor",
    "BluePaletteColorLookupTableDescriptor",
    "RedPaletteColorLookupTableData",
    "GreenPaletteColorLookupTableData",
    "BluePaletteColorLookupTableData",
    "SegmentedRedPaletteColorLookupTableData",
    "SegmentedGreenPaletteColorLookupTableData",
    "SegmentedBluePaletteColorLookupTableData",
    "PaletteColorLookupTableUID",
)


def _transfer_syntax(ds: Dataset) -> UID | None:
    meta = getattr(ds, "file_meta", None)
    ts = meta.get("TransferSyntaxUID") if meta is not None else None
    return UID(str(ts)) if ts else None


def decode_stored(ds: Dataset) -> np.ndarray:
    """All frames as stored values, shaped (frames, rows, cols) or (frames, rows, cols, 3).

    Colour comes back as RGB (pydicom converts YBR_* and decodes JPEG/J2K colour transforms), so
    :func:`replace_frames` can always write RGB.  Raises :class:`PixelWriteError` with the decoder's
    reason when the pixels cannot be decoded (missing plugin, corrupt stream).
    """
    if "PixelData" not in ds:
        raise PixelWriteError("dataset has no Pixel Data (7FE0,0010)")
    try:
        arr = ds.pixel_array
    except Exception as exc:  # pydicom raises many types; keep its message
        raise PixelWriteError(f"cannot decode Pixel Data: {exc}") from exc
    n = int(ds.get("NumberOfFrames") or 1)
    samples = int(ds.get("SamplesPerPixel") or 1)
    if n == 1 and (arr.ndim == 2 or (samples == 3 and arr.ndim == 3)):
        arr = arr[np.newaxis]
    return arr


def stored_range(ds: Dataset) -> tuple[int, int]:
    """The (min, max) stored value Bits Stored and Pixel Representation allow."""
    bits = int(ds.get("BitsStored") or ds.get("BitsAllocated") or 8)
    if int(ds.get("PixelRepresentation") or 0) == 1:
        return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    return 0, 2**bits - 1


def _as_array(frames: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
    arr = np.asarray(frames) if isinstance(frames, np.ndarray) else np.stack([np.asarray(f) for f in frames])
    return arr


def _normalise_shape(ds: Dataset, arr: np.ndarray) -> np.ndarray:
    """(frames, rows, cols[, 3]) from any of the accepted shapes."""
    colour_last = arr.ndim >= 3 and arr.shape[-1] == 3
    if arr.ndim == 2:
        return arr[np.newaxis]
    if arr.ndim == 3 and colour_last and int(ds.get("SamplesPerPixel") or 1) == 3:
        rows, cols = int(ds.get("Rows") or 0), int(ds.get("Columns") or 0)
        if arr.shape[:2] == (rows, cols) or int(ds.get("NumberOfFrames") or 1) == 1:
            return arr[np.newaxis]
    if arr.ndim in (3, 4):
        return arr
    raise PixelWriteError(f"frames must be 2-D, 3-D or 4-D, not shape {arr.shape}")


def _lossy_attributes(ds: Dataset, ts: UID | None) -> None:
    """Keep a once-lossy image marked lossy, with its method, after writing it uncompressed."""
    ts_str = str(ts) if ts else ""
    already = str(ds.get("LossyImageCompression", "")).strip() == "01"
    always = ts_str in LOSSY_METHODS
    if not (already or always):
        return
    ds.LossyImageCompression = "01"
    raw = ds.get("LossyImageCompressionMethod")
    if raw is None or (isinstance(raw, str) and not raw.strip()) or (_is_multi(raw) and not list(raw)):
        # the header never said how; the source syntax does (the ratio stays unknown)
        method = LOSSY_METHODS.get(ts_str) or MAYBE_LOSSY_METHODS.get(ts_str)
        if method:
            ds.LossyImageCompressionMethod = method


def _to_little_endian(ds: Dataset) -> None:
    """Decode every element (still big-endian raw bytes) so the dataset can be saved little endian."""
    ds.walk(lambda _ds, _elem: None)  # walking converts raw elements with the read encoding
    ds.set_original_encoding(False, True)


def _is_multi(value: Any) -> bool:
    from pydicom.multival import MultiValue

    return isinstance(value, MultiValue)


def replace_frames(
    ds: Dataset,
    frames: np.ndarray | Sequence[np.ndarray],
    *,
    stored: bool = False,
) -> None:
    """Replace the Pixel Data of ``ds`` (in place) with ``frames``, uncompressed and consistent.

    ``frames``: (rows, cols), (rows, cols, 3), (n, rows, cols) or (n, rows, cols, 3), float or int.
    With ``stored=False`` (the FrameSource convention) grey values are modality values and the
    rescale is inverted; with ``stored=True`` they are stored values already.  Raises
    :class:`PixelWriteError` (``ds`` unchanged) for shapes or pixel formats it cannot write.
    """
    from pydicom.pixels.utils import set_pixel_data

    if "FloatPixelData" in ds or "DoubleFloatPixelData" in ds:
        raise PixelWriteError("float pixel data is not supported")
    arr = _normalise_shape(ds, _as_array(frames))
    n = arr.shape[0]
    colour = arr.ndim == 4
    if colour and arr.shape[-1] != 3:
        raise PixelWriteError(f"colour frames need 3 samples, got shape {arr.shape}")
    src_samples = int(ds.get("SamplesPerPixel") or 1)
    src_pi = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).strip()
    if not colour and src_samples != 1:
        raise PixelWriteError("grey frames cannot replace a colour image's pixels")
    bits_alloc = int(ds.get("BitsAllocated") or 8)
    if bits_alloc not in (8, 16) and not (colour and bits_alloc == 8):
        raise PixelWriteError(f"Bits Allocated {bits_alloc} is not supported (only 8 and 16)")
    ts = _transfer_syntax(ds)
    had_frames = "NumberOfFrames" in ds

    if colour:
        values = np.rint(arr.astype(np.float64)) if arr.dtype.kind == "f" else arr
        out = np.clip(values, 0, 255).astype(np.uint8)
        pi, bits_stored = "RGB", 8
    else:
        if stored:
            values = arr.astype(np.float64) if arr.dtype.kind == "f" else arr.astype(np.int64)
        else:
            slope = float(ds.get("RescaleSlope", 1) or 1)
            intercept = float(ds.get("RescaleIntercept", 0) or 0)
            values = (arr.astype(np.float64) - intercept) / slope
        if values.dtype.kind == "f":
            values = np.rint(values)
        lo, hi = stored_range(ds)
        signed = int(ds.get("PixelRepresentation") or 0) == 1
        dtype = {(8, False): np.uint8, (8, True): np.int8, (16, False): np.uint16, (16, True): np.int16}[
            (bits_alloc, signed)
        ]
        out = np.clip(values, lo, hi).astype(dtype)
        pi = src_pi if src_pi in ("MONOCHROME1", "MONOCHROME2", "PALETTE COLOR") else "MONOCHROME2"
        bits_stored = int(ds.get("BitsStored") or bits_alloc)

    if ts is not None and not ts.is_little_endian:
        # pydicom writes little endian only; the decoded array is native, so just switch syntax
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    try:
        set_pixel_data(ds, out if n > 1 or had_frames else out[0], pi, bits_stored, generate_instance_uid=False)
    except (ValueError, AttributeError, NotImplementedError) as exc:
        if ts is not None:  # set_pixel_data validates before it changes anything; undo our switch
            ds.file_meta.TransferSyntaxUID = ts
        raise PixelWriteError(str(exc)) from exc
    if ts is not None and not ts.is_little_endian:
        _to_little_endian(ds)
    if had_frames or n > 1:
        ds.NumberOfFrames = n  # Type 1 in multi-frame IODs even for one frame
    if colour and src_pi == "PALETTE COLOR":
        for kw in _PALETTE_KEYWORDS:
            if kw in ds:
                del ds[kw]
    if ts is not None and ts.is_compressed and "ExtendedOffsetTable" in ds:
        del ds["ExtendedOffsetTable"]
    if ts is not None and ts.is_compressed and "ExtendedOffsetTableLengths" in ds:
        del ds["ExtendedOffsetTableLengths"]
    _lossy_attributes(ds, ts)
