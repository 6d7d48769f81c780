"""Offline OCR of burned-in text: where is text in a frame, and what does it say.

Why rapidocr: its PP-OCR detection/recognition ONNX models ship inside the wheel and run on
onnxruntime's CPU provider, so text detection works on an air-gapped workstation without any
model download.  The engine is created once, lazily (importing rapidocr and loading three ONNX
sessions costs about half a second), and guarded by a lock so export workers and the GUI can
share it.  Results are cached by image content: multi-frame cines repeat the same overlay, and
the tests look at the same frames before and after cleaning.

Boxes are axis-aligned, in the frame's pixel coordinates (``x0, y0`` inclusive, ``x1, y1``
exclusive), so redaction can fill them directly.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["TextBox", "OcrEngine", "default_ocr", "to_uint8"]


@dataclass(frozen=True)
class TextBox:
    """One line of detected text; ``frame`` is the index of the frame it was found in."""

    x0: int
    y0: int
    x1: int
    y1: int
    text: str
    confidence: float
    frame: int = 0

    @property
    def area(self) -> int:
        return max(0, self.x1 - self.x0) * max(0, self.y1 - self.y0)

    def with_frame(self, frame: int) -> TextBox:
        return TextBox(self.x0, self.y0, self.x1, self.y1, self.text, self.confidence, frame)


def to_uint8(frame: np.ndarray, window: tuple[float, float] | None = None, *, invert: bool = False) -> np.ndarray:
    """An 8-bit image for OCR: grey (rows, cols) or RGB (rows, cols, 3).

    ``window`` is (center, width); without it the frame's full range is used, which keeps burned-in
    text (usually drawn at the extreme value) at full contrast whatever the clinical window is.
    ``invert`` for MONOCHROME1 so text is light on dark like the display.
    """
    arr = np.asarray(frame)
    if arr.dtype == np.uint8 and window is None and not invert:
        return np.ascontiguousarray(arr)
    data = arr.astype(np.float32)
    if window is not None:
        center, width = window
        lo, hi = center - width / 2.0, center + width / 2.0
    elif arr.ndim == 3 and arr.dtype.kind in "ui" and float(data.max(initial=0)) <= 255:
        lo, hi = 0.0, 255.0
    else:
        lo, hi = float(np.nanmin(data)), float(np.nanmax(data))
    if hi <= lo:
        hi = lo + 1.0
    out = np.clip((data - lo) * (255.0 / (hi - lo)), 0, 255)
    if invert:
        out = 255.0 - out
    return np.ascontiguousarray(np.rint(out).astype(np.uint8))


class OcrEngine:
    """Thread-safe, lazily initialised rapidocr wrapper with a content-keyed result cache."""

    def __init__(self, *, threads: int | None = None, min_confidence: float = 0.5, cache_size: int = 256) -> None:
        env = os.environ.get("MEDEID_OCR_THREADS")
        # export runs one OCR per worker process: leave cores to the other workers by default
        self.threads = threads or (int(env) if env else max(1, min(4, (os.cpu_count() or 2) // 2)))
        self.min_confidence = min_confidence
        self._engine: Any = None
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, tuple[TextBox, ...]] = OrderedDict()
        self._cache_size = cache_size
        self.calls = 0  # OCR runs actually performed (cache misses), for tests and benchmarks

    def _get(self) -> Any:
        if self._engine is None:
            try:
                from rapidocr import RapidOCR
            except ImportError as exc:  # pragma: no cover - install problem, say what is missing
                raise RuntimeError("burned-in text detection needs 'rapidocr' and 'onnxruntime'") from exc
            self._engine = RapidOCR(
                params={
                    "Global.log_level": "error",
                    # medical overlays are upright: skip the 180-degree classifier (faster)
                    "Global.use_cls": False,
                    "EngineConfig.onnxruntime.intra_op_num_threads": self.threads,
                    "EngineConfig.onnxruntime.inter_op_num_threads": 1,
                }
            )
        return self._engine

    def detect(self, image: np.ndarray, *, frame: int = 0) -> list[TextBox]:
        """Text lines in an 8-bit grey or RGB image (use :func:`to_uint8` first)."""
        img = np.ascontiguousarray(image)
        if img.dtype != np.uint8:
            raise ValueError(f"OCR needs an 8-bit image, got {img.dtype}; convert with to_uint8()")
        if img.ndim == 2:
            img = np.repeat(img[:, :, np.newaxis], 3, axis=2)
        key = hashlib.sha1(img.tobytes() + repr(img.shape).encode()).hexdigest()
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return [b.with_frame(frame) for b in hit]
            engine = self._get()
            self.calls += 1
            result = engine(img)
        boxes = _boxes_from(result, img.shape[0], img.shape[1], self.min_confidence)
        with self._lock:
            self._cache[key] = tuple(boxes)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return [b.with_frame(frame) for b in boxes]


def _boxes_from(result: Any, rows: int, cols: int, min_confidence: float) -> list[TextBox]:
    if result is None or getattr(result, "boxes", None) is None or result.txts is None:
        return []
    out: list[TextBox] = []
    for quad, text, score in zip(result.boxes, result.txts, result.scores):
        if float(score) < min_confidence or not str(text).strip():
            continue
        pts = np.asarray(quad, dtype=np.float64)
        x0 = int(np.floor(max(0.0, pts[:, 0].min())))
        y0 = int(np.floor(max(0.0, pts[:, 1].min())))
        x1 = int(np.ceil(min(float(cols), pts[:, 0].max() + 1)))
        y1 = int(np.ceil(min(float(rows), pts[:, 1].max() + 1)))
        if x1 > x0 and y1 > y0:
            out.append(TextBox(x0, y0, x1, y1, str(text), float(score)))
    return out


_default: OcrEngine | None = None
_default_lock = threading.Lock()


def default_ocr() -> OcrEngine:
    """The process-wide OCR engine (created on first use)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = OcrEngine()
        return _default
