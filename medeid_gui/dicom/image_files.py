"""Read an ordinary image file (PNG, JPEG, ...) into the array a DICOM image would hold.

Why this exists: research data are often PNG/JPEG exports with a spreadsheet; to put them through
the same path as DICOM they are converted (``dicom/import_images.py``), and the lab loads the same
files directly (``lab/real_cxr.py``). Both must see the *same* grey levels, so both read through
this one function.

Why these rules: the image's own stored values are kept (8-bit stays uint8, 16-bit stays uint16,
no rescaling, no gamma); only lossless simplifications are made: an RGB or palette image whose
three channels are equal everywhere is grey and is returned as grey; an alpha channel that is
opaque everywhere carries nothing and is dropped. What cannot be kept without loss (transparency,
float or 32-bit values, several frames) is refused with a reason, never silently converted.

Pillow does the decoding (it is installed with rapidocr, a runtime dependency); it is imported
inside the function so importing this module stays cheap.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["ImageFile", "ImageFileError", "read_image_file"]


class ImageFileError(Exception):
    """The file cannot be read as one image without losing information; ``reason`` says why."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


@dataclass(frozen=True)
class ImageFile:
    """One decoded image: ``pixels`` is (H, W) uint8/uint16 grey or (H, W, 3) uint8 RGB."""

    pixels: np.ndarray
    format: str  # Pillow's format name, e.g. "PNG", "JPEG"
    mode: str  # Pillow's mode of the file, e.g. "L", "I;16", "RGB"
    notes: tuple[str, ...] = ()  # lossless simplifications made (e.g. "RGB with equal channels -> grey")

    @property
    def is_colour(self) -> bool:
        return self.pixels.ndim == 3

    @property
    def bits(self) -> int:
        return 16 if self.pixels.dtype == np.uint16 else 8

    @property
    def lossy_source(self) -> bool:
        """True for formats whose stored values were already lossy-compressed (JPEG)."""
        return self.format.upper() in {"JPEG", "MPO", "JPEG2000", "WEBP"}


def _collapse_grey(rgb: np.ndarray, notes: list[str], what: str) -> np.ndarray:
    if np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 0], rgb[..., 2]):
        notes.append(f"{what} with three equal channels stored as grey")
        return np.ascontiguousarray(rgb[..., 0])
    return np.ascontiguousarray(rgb)


def _drop_opaque_alpha(arr: np.ndarray, path: Path, notes: list[str]) -> np.ndarray:
    alpha = arr[..., -1]
    full = np.iinfo(arr.dtype).max
    if not np.all(alpha == full):
        raise ImageFileError(path, "image has transparent pixels (alpha channel); DICOM has no "
                             "transparency: flatten it first")
    notes.append("opaque alpha channel dropped")
    return np.ascontiguousarray(arr[..., :-1])


def read_image_file(path: str | os.PathLike[str]) -> ImageFile:
    """Decode ``path`` into an :class:`ImageFile`; raise :class:`ImageFileError` with a reason.

    Grey: uint8 ("L"), uint16 ("I;16", or "I" whose values fit 16 bits), 1-bit as uint8 0/255.
    Colour: uint8 RGB, unless its channels are all equal (then grey). Palette images are
    expanded first (grey palettes become grey).
    """
    p = Path(path)
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError as exc:  # pragma: no cover - Pillow comes with rapidocr
        raise ImageFileError(p, "Pillow is not installed; it is needed to read PNG/JPEG files") from exc
    notes: list[str] = []
    try:
        with Image.open(p) as im:
            fmt = str(im.format or "")
            mode = str(im.mode)
            if getattr(im, "n_frames", 1) > 1:
                raise ImageFileError(p, f"{fmt} file holds {im.n_frames} frames; only single images are imported")
            im.load()
            if mode == "1":
                arr = np.asarray(im.convert("L"))
                notes.append("1-bit image stored as 8-bit 0/255")
            elif mode == "L":
                arr = np.asarray(im)
            elif mode in ("I;16", "I;16B", "I;16L"):
                arr = np.asarray(im).astype(np.uint16)
            elif mode == "I":
                arr = np.asarray(im)
                if arr.size and (arr.min() < 0 or arr.max() > 65535):
                    raise ImageFileError(p, "32-bit integer values outside 0..65535 cannot be kept in 16 bits")
                arr = arr.astype(np.uint16)
                notes.append("32-bit integer image with 16-bit values stored as 16-bit")
            elif mode in ("P", "PA"):
                has_alpha = mode == "PA" or "transparency" in im.info
                rgb = np.asarray(im.convert("RGBA" if has_alpha else "RGB"))
                if has_alpha:
                    rgb = _drop_opaque_alpha(rgb, p, notes)
                notes.append("palette expanded")
                arr = _collapse_grey(rgb, notes, "palette image")
            elif mode == "LA":
                arr = _drop_opaque_alpha(np.asarray(im), p, notes)[..., 0]
            elif mode == "RGB":
                arr = _collapse_grey(np.asarray(im), notes, "RGB image")
            elif mode == "RGBA":
                arr = _collapse_grey(_drop_opaque_alpha(np.asarray(im), p, notes), notes, "RGB image")
            else:
                raise ImageFileError(p, f"{fmt} image mode {mode!r} is not supported (grey 8/16-bit or RGB only)")
    except ImageFileError:
        raise
    except FileNotFoundError as exc:
        raise ImageFileError(p, "file not found") from exc
    except UnidentifiedImageError as exc:
        raise ImageFileError(p, "not an image file Pillow can read") from exc
    except (OSError, ValueError, SyntaxError) as exc:  # truncated/corrupt data, decompression bombs
        raise ImageFileError(p, f"cannot decode image ({type(exc).__name__}: {exc})") from exc
    except Image.DecompressionBombError as exc:
        raise ImageFileError(p, f"image too large ({exc})") from exc
    if arr.ndim not in (2, 3) or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ImageFileError(p, f"empty or unexpected image shape {arr.shape}")
    if arr.shape[0] > 65535 or arr.shape[1] > 65535:
        raise ImageFileError(p, f"image of {arr.shape[1]} x {arr.shape[0]} pixels exceeds DICOM's 65535 rows/columns")
    return ImageFile(pixels=np.ascontiguousarray(arr), format=fmt, mode=mode, notes=tuple(notes))
