"""Decode frames lazily, in the units a reader of the image expects, and map them to display.

Why lazy and per frame: a 2,000-frame tomosynthesis or cine file must show its first frame at
once and must not hold every decoded frame in memory; pydicom 3 can decode frame *i* of native
and most encapsulated data without decoding the rest (``pixel_array(src, index=i)``), and for a
path it reads only that frame's bytes.

Why float32 with the Modality LUT / rescale applied: windows (WindowCenter/Width), presets (lung,
bone …) and the pixel privacy step all work in modality units (e.g. Hounsfield), whatever the
stored integer type; float32 holds every 16-bit stored value exactly.

MONOCHROME1 (white = low) is *not* inverted here: the values stay what the file says; the flag
``invert_display`` tells the viewer/exporter to invert after windowing.
"""

from __future__ import annotations

import copy
import math
import os
import threading
import warnings
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset

from .read import DicomReadError, read_dataset, read_partial_header

__all__ = ["Window", "FrameSource", "PixelDecodeError", "apply_window", "CT_PRESETS", "percentile_window"]


class PixelDecodeError(Exception):
    """Pixel data that cannot be decoded; ``reason`` is a sentence for a person."""

    def __init__(self, reason: str, path: str | os.PathLike[str] | None = None) -> None:
        self.reason = reason
        self.path = Path(path) if path is not None else None
        super().__init__(f"{self.path}: {reason}" if self.path else reason)


@dataclass(frozen=True)
class Window:
    """A VOI window in modality units; ``function`` is the DICOM VOI LUT Function."""

    center: float
    width: float
    name: str = ""
    function: str = "LINEAR"  # LINEAR, LINEAR_EXACT or SIGMOID

    @property
    def low(self) -> float:
        return self.center - self.width / 2.0

    @property
    def high(self) -> float:
        return self.center + self.width / 2.0


#: Common CT windows (center, width) in HU, as used in radiology teaching (e.g. Radiopaedia "Windowing (CT)").
CT_PRESETS: tuple[Window, ...] = (
    Window(-600.0, 1500.0, "Lung"),
    Window(50.0, 350.0, "Mediastinum"),
    Window(40.0, 400.0, "Soft tissue"),
    Window(400.0, 1800.0, "Bone"),
    Window(40.0, 80.0, "Brain"),
)


def apply_window(frame: np.ndarray, window: Window, *, invert: bool = False) -> np.ndarray:
    """Map modality values to display values in [0, 1] (float32), per PS3.3 C.11.2.1.2.

    Pure and shape-preserving (works on (r, c) and (r, c, 3)); ``invert`` flips the result, for
    MONOCHROME1 images. A window narrower than the standard allows (width < 1 for LINEAR) acts as
    a threshold at the center.
    """
    x = np.asarray(frame, dtype=np.float32)
    c = float(window.center)
    w = float(window.width)
    func = (window.function or "LINEAR").upper()
    if func == "SIGMOID":
        w = max(w, 1e-6)
        out = 1.0 / (1.0 + np.exp(np.clip(-4.0 * (x - c) / w, -80.0, 80.0)))
    elif func == "LINEAR_EXACT":
        if w <= 0:
            out = (x > c).astype(np.float32)
        else:
            out = (x - c) / w + 0.5
    else:  # LINEAR
        if w <= 1.0:
            out = (x > c - 0.5).astype(np.float32)
        else:
            out = (x - (c - 0.5)) / (w - 1.0) + 0.5
    out = np.clip(out, 0.0, 1.0).astype(np.float32, copy=False)
    if invert:
        out = 1.0 - out
    return np.ascontiguousarray(out, dtype=np.float32)


def percentile_window(frame: np.ndarray, lo: float = 0.5, hi: float = 99.5, name: str = "Auto") -> Window:
    """A robust window from the ``lo``..``hi`` percentiles (on at most ~1M samples, for speed)."""
    flat = np.asarray(frame, dtype=np.float32).reshape(-1)
    flat = flat[np.isfinite(flat)]
    if flat.size == 0:
        return Window(0.5, 1.0, name)
    step = max(1, flat.size // 1_000_000)
    sample = flat[::step]
    a, b = np.percentile(sample, [lo, hi])
    if not b > a:
        a, b = float(sample.min()), float(sample.max())
    width = max(float(b - a), 1.0)
    return Window(float(a + b) / 2.0, width, name)


def _first(value: object) -> object:
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        seq = list(value)  # type: ignore[arg-type]
        return seq[0] if seq else None
    return value


def _float(value: object) -> float | None:
    try:
        v = float(_first(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _int(value: object, default: int) -> int:
    try:
        return int(float(str(_first(value))))
    except (TypeError, ValueError):
        return default


class FrameSource:
    """Lazy access to the frames of one image (a path or an in-memory Dataset).

    ``shape`` is the shape of *one frame*: (rows, cols) or (rows, cols, 3); ``n_frames`` how many.
    Thread-safe: a viewer thread and a prefetch thread may call :meth:`frame` together.
    """

    def __init__(self, src: str | os.PathLike[str] | Dataset, *, cache_frames: int = 4) -> None:
        self._lock = threading.RLock()
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._cache_size = max(0, cache_frames)
        self._full: Dataset | None = None
        if isinstance(src, Dataset):
            self.path: Path | None = Path(src.filename) if isinstance(getattr(src, "filename", None), str) else None
            self._full = src
            self.header: Dataset = src
            has_pixels = any(k in src for k in ("PixelData", "FloatPixelData", "DoubleFloatPixelData"))
            self._from_path = False
        else:
            self.path = Path(src)
            try:
                self.header, has_pixels = read_partial_header(self.path)
            except DicomReadError as exc:
                raise PixelDecodeError(exc.reason, self.path) from exc
            self._from_path = True
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self._describe(has_pixels)

    def _describe(self, has_pixels: bool) -> None:
        """Read the image pixel description from the header (invalid values fall back to defaults)."""
        if not has_pixels:
            raise PixelDecodeError("no pixel data in this file", self.path)
        h = self.header
        self.rows = _int(h.get("Rows"), 0)
        self.columns = _int(h.get("Columns"), 0)
        if self.rows <= 0 or self.columns <= 0:
            raise PixelDecodeError("Rows/Columns missing or zero: the image size is unknown", self.path)
        self.samples_per_pixel = _int(h.get("SamplesPerPixel"), 1)
        self.photometric = str(h.get("PhotometricInterpretation", "") or "").strip().upper()
        self.bits_stored = _int(h.get("BitsStored"), _int(h.get("BitsAllocated"), 16))
        self.signed = _int(h.get("PixelRepresentation"), 0) == 1
        self.modality = str(h.get("Modality", "") or "").strip().upper()
        self.n_frames = max(1, _int(h.get("NumberOfFrames"), 1))
        self.is_palette = self.photometric == "PALETTE COLOR"
        self.is_color = self.samples_per_pixel == 3 or self.is_palette
        self.invert_display = self.photometric == "MONOCHROME1"
        self.shape: tuple[int, ...] = (self.rows, self.columns, 3) if self.is_color else (self.rows, self.columns)
        self._float_pixels = any(k in h for k in ("FloatPixelData", "DoubleFloatPixelData"))

    # ---- decoding -------------------------------------------------------------------------

    def _dataset_for_decoding(self) -> Dataset:
        """The full dataset, with a transfer syntax pydicom can use even if the file had no meta."""
        with self._lock:
            if self._full is None:
                assert self.path is not None
                try:
                    self._full = read_dataset(self.path)
                except DicomReadError as exc:
                    raise PixelDecodeError(exc.reason, self.path) from exc
            ds = self._full
            meta = getattr(ds, "file_meta", None)
            if meta is None or "TransferSyntaxUID" not in meta:
                implicit, little = (getattr(ds, "original_encoding", None) or (True, True))[:2]
                implicit = True if implicit is None else implicit
                little = True if little is None else little
                explicit = "1.2.840.10008.1.2.1" if little else "1.2.840.10008.1.2.2"
                tsuid = "1.2.840.10008.1.2" if implicit else explicit
                shallow = copy.copy(ds)
                new_meta = FileMetaDataset(meta) if meta is not None else FileMetaDataset()
                new_meta.TransferSyntaxUID = tsuid
                shallow.file_meta = new_meta
                self._full = ds = shallow
            return ds

    def _decode_raw(self, index: int) -> np.ndarray:
        """Stored values of one frame (YBR already converted to RGB by pydicom)."""
        from pydicom.pixels import pixel_array

        errors: list[str] = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if self._from_path and self._full is None:
                try:
                    return pixel_array(self.path, index=index)  # reads only this frame's bytes
                except Exception as exc:  # noqa: BLE001 - retry via the full dataset below
                    errors.append(f"{type(exc).__name__}: {exc}")
            try:
                return pixel_array(self._dataset_for_decoding(), index=index)
            except PixelDecodeError:
                raise
            except Exception as exc:  # noqa: BLE001 - every decoder's error is collected for the message
                errors.append(f"{type(exc).__name__}: {exc}")
        tsyntax = str(getattr(getattr(self.header, "file_meta", None), "TransferSyntaxUID", "") or "")
        ts_name = ""
        if tsyntax:
            from pydicom.uid import UID

            ts_name = f" ({UID(tsyntax).name})"
        detail = " ".join(errors[-1].split())  # pydicom's plugin report spans lines
        raise PixelDecodeError(f"cannot decode pixel data{ts_name}: {detail}", self.path)

    def _functional_item(self, index: int, sequence: str) -> Dataset | None:
        """The ``sequence`` item for frame ``index`` from per-frame, else shared functional groups."""
        h = self.header
        for groups, i in (("PerFrameFunctionalGroupsSequence", index), ("SharedFunctionalGroupsSequence", 0)):
            try:
                seq = h.get(groups)
                if seq and len(seq) > i:
                    inner = seq[i].get(sequence)
                    if inner:
                        return inner[0]
            except Exception:  # noqa: BLE001 - malformed groups: fall back to top level
                continue
        return None

    def _rescale(self, index: int) -> tuple[float, float] | None:
        item = self._functional_item(index, "PixelValueTransformationSequence")
        for src in (item, self.header):
            if src is not None and "RescaleSlope" in src and "RescaleIntercept" in src:
                slope, inter = _float(src.RescaleSlope), _float(src.RescaleIntercept)
                if slope is not None and inter is not None and slope != 0:
                    return slope, inter
        if self.header is not None and "RescaleIntercept" in self.header and "RescaleSlope" not in self.header:
            inter = _float(self.header.RescaleIntercept)
            if inter is not None:
                return 1.0, inter
        return None

    def _to_modality(self, raw: np.ndarray, index: int) -> np.ndarray:
        """Stored values -> modality values (float32, C-contiguous)."""
        if self.is_palette:
            from pydicom.pixels import apply_color_lut

            try:
                raw = apply_color_lut(raw, self.header)
            except Exception as exc:
                raise PixelDecodeError(f"palette colour lookup failed: {exc}", self.path) from exc
            return np.ascontiguousarray(raw, dtype=np.float32)
        if self.is_color or self._float_pixels or raw.dtype.kind == "f":  # float pixels carry no rescale
            return np.ascontiguousarray(raw, dtype=np.float32)
        if self.header.get("ModalityLUTSequence"):
            from pydicom.pixels import apply_modality_lut

            try:
                return np.ascontiguousarray(apply_modality_lut(raw, self.header), dtype=np.float32)
            except Exception:  # noqa: BLE001 - a broken LUT: fall back to rescale / stored values
                pass
        out = raw.astype(np.float32)
        rs = self._rescale(index)
        if rs is not None:
            slope, inter = rs
            if slope != 1.0:
                out *= np.float32(slope)
            if inter != 0.0:
                out += np.float32(inter)
        return np.ascontiguousarray(out, dtype=np.float32)

    def _check(self, arr: np.ndarray, index: int) -> np.ndarray:
        if arr.ndim == 3 and not self.is_color and arr.shape[0] == 1:
            arr = arr[0]
        if arr.shape != self.shape:
            raise PixelDecodeError(f"frame {index} decoded to shape {arr.shape}, expected {self.shape}", self.path)
        return arr

    def frame(self, index: int = 0) -> np.ndarray:
        """Frame ``index`` in modality units: float32, C-contiguous, (rows, cols) or (rows, cols, 3)."""
        if not 0 <= index < self.n_frames:
            raise IndexError(f"frame {index} out of range (0..{self.n_frames - 1})")
        with self._lock:
            cached = self._cache.get(index)
            if cached is not None:
                self._cache.move_to_end(index)
                return cached.copy()
        raw = self._decode_raw(index)
        out = self._check(self._to_modality(raw, index), index)
        if self._cache_size:
            with self._lock:
                self._cache[index] = out
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
            return out.copy()
        return out

    def iter_frames(self) -> Iterator[np.ndarray]:
        """Every frame in order (decoded one at a time; use for export, not for random access)."""
        if self._from_path and self._full is None:
            from pydicom.pixels import iter_pixels

            i = 0
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    gen = iter_pixels(self.path)
                    for raw in gen:
                        yield self._check(self._to_modality(raw, i), i)
                        i += 1
                if i == self.n_frames:
                    return
            except PixelDecodeError:
                raise
            except Exception:  # noqa: BLE001 - fall back to one-by-one from the full dataset
                pass
            for j in range(i, self.n_frames):
                yield self.frame(j)
            return
        for j in range(self.n_frames):
            yield self.frame(j)

    # ---- windows --------------------------------------------------------------------------

    def _voi_source(self, index: int) -> Dataset | None:
        item = self._functional_item(index, "FrameVOILUTSequence")
        if item is not None and "WindowCenter" in item and "WindowWidth" in item:
            return item
        if "WindowCenter" in self.header and "WindowWidth" in self.header:
            return self.header
        return None

    def _header_windows(self, index: int = 0) -> list[Window]:
        src = self._voi_source(index)
        if src is None:
            return []
        centers = src.WindowCenter
        widths = src.WindowWidth
        centers = list(centers) if type(centers).__name__ == "MultiValue" else [centers]
        widths = list(widths) if type(widths).__name__ == "MultiValue" else [widths]
        names = src.get("WindowCenterWidthExplanation", None)
        names = list(names) if type(names).__name__ == "MultiValue" else ([names] if names else [])
        func = str(src.get("VOILUTFunction", "") or "LINEAR").strip().upper()
        if func not in ("LINEAR", "LINEAR_EXACT", "SIGMOID"):
            func = "LINEAR"
        out = []
        for k, (c, w) in enumerate(zip(centers, widths)):
            cf, wf = _float(c), _float(w)
            if cf is None or wf is None or wf <= 0:
                continue
            name = str(names[k]).strip() if k < len(names) and names[k] else f"DICOM {k + 1}"
            out.append(Window(cf, wf, name, func))
        return out

    def _voi_lut_window(self) -> Window | None:
        """A linear stand-in for a table VOI LUT: its input range (the table's shape is not kept)."""
        seq = self.header.get("VOILUTSequence")
        if not seq:
            return None
        try:
            desc = seq[0].LUTDescriptor
            n = int(desc[0]) or 65536
            first = int(desc[1])
        except Exception:  # noqa: BLE001 - a malformed VOI LUT means no LUT window
            return None
        return Window(first + n / 2.0, float(n), "VOI LUT range")

    def full_range_window(self) -> Window:
        """The range the stored bits can hold, mapped through rescale (no decoding needed)."""
        if self.is_color:
            bits = 8
            if self.is_palette:
                try:
                    bits = int(self.header.RedPaletteColorLookupTableDescriptor[2])
                except Exception:  # noqa: BLE001 - a malformed palette descriptor falls back to 16 bits
                    bits = 16
            else:
                bits = min(max(self.bits_stored, 1), 32)
            top = float(2**bits - 1)
            return Window(top / 2.0, top + 1.0, "Full range")
        bits = min(max(self.bits_stored, 1), 32)
        lo, hi = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if self.signed else (0, 2**bits - 1)
        rs = self._rescale(0)
        if rs is not None:
            lo, hi = sorted((lo * rs[0] + rs[1], hi * rs[0] + rs[1]))
        return Window((lo + hi) / 2.0, max(float(hi - lo), 1.0), "Full range")

    def default_window(self, index: int = 0) -> Window:
        """The file's first window; else a table VOI LUT's range; else a robust percentile window."""
        if self.is_color:
            return self.full_range_window()
        wins = self._header_windows(index)
        if wins:
            return wins[0]
        lut = self._voi_lut_window()
        if lut is not None:
            return lut
        return percentile_window(self.frame(index))

    def window_presets(self, index: int = 0) -> list[Window]:
        """DICOM windows from the header, modality presets (CT), then "Auto" and "Full range"."""
        out: list[Window] = []
        if not self.is_color:
            out.extend(self._header_windows(index))
            lut = self._voi_lut_window()
            if lut is not None:
                out.append(lut)
            if self.modality == "CT":
                out.extend(CT_PRESETS)
            try:
                out.append(percentile_window(self.frame(index)))
            except PixelDecodeError:
                pass
        out.append(self.full_range_window())
        return out
