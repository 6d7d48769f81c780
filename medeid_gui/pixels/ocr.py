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

__all__ = ["TextBox", "OcrEngine", "default_ocr", "to_uint8", "enhance_contrast"]


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

    def find_text(self, image: np.ndarray, *, max_side: int = 1280, box_thresh: float = 0.4) -> list[TextBox]:
        """Where text is, without reading it: the detector alone (the fast pass).

        Why separate from :meth:`detect`: detection is the cost that every image-bearing frame
        pays, recognition only the frames that have text.  The frame is not upscaled (PP-OCR's
        default upscales the short side to 736, doubling the cost of a 512x512 CT) and frames
        larger than ``max_side`` are scaled down to it.  Boxes carry the detector's score as
        ``confidence`` and an empty ``text``.
        """
        img = _rgb(image)
        key = "det:" + str(max_side) + ":" + str(box_thresh) + ":" + _digest(img)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return list(hit)
            det = self._get()._load_det_model()
            saved = det.limit_type, det.limit_side_len, det.postprocess_op.box_thresh
            det.limit_type, det.limit_side_len = "max", int(max_side)
            det.postprocess_op.box_thresh = float(box_thresh)
            self.calls += 1
            try:
                res = det(img)
            finally:  # detect() shares this detector: give it back its own settings
                det.limit_type, det.limit_side_len, det.postprocess_op.box_thresh = saved
        rows, cols = img.shape[:2]
        out: list[TextBox] = []
        if res.boxes is not None:
            for quad, score in zip(res.boxes, res.scores):
                pts = np.asarray(quad, dtype=np.float64)
                x0, y0 = int(np.floor(max(0.0, pts[:, 0].min()))), int(np.floor(max(0.0, pts[:, 1].min())))
                x1 = int(np.ceil(min(float(cols), pts[:, 0].max() + 1)))
                y1 = int(np.ceil(min(float(rows), pts[:, 1].max() + 1)))
                if x1 > x0 and y1 > y0:
                    out.append(TextBox(x0, y0, x1, y1, "", float(score)))
        with self._lock:
            self._cache[key] = tuple(out)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return out

    def read(self, image: np.ndarray, boxes: list[TextBox]) -> list[TextBox]:
        """Recognise the text in ``boxes`` of ``image``; every box comes back, however weak the
        reading (``confidence`` is the recogniser's score, ``text`` may be empty).

        Why keep weak readings: text drawn over anatomy is found by the detector but often read
        badly, and a box that is text but unreadable to the recogniser is still burned-in text.
        """
        if not boxes:
            return []
        img = _rgb(image)
        rows, cols = img.shape[:2]
        crops = []
        for b in boxes:
            pad = max(1, (b.y1 - b.y0) // 8)
            ys = slice(max(0, b.y0 - pad), min(rows, b.y1 + pad))
            xs = slice(max(0, b.x0 - pad), min(cols, b.x1 + pad))
            crops.append(np.ascontiguousarray(img[ys, xs]))
        from rapidocr.ch_ppocr_rec.typings import TextRecInput

        with self._lock:
            rec = self._get()._load_rec_model()
            self.calls += 1
            res = rec(TextRecInput(img=crops, return_word_box=False))
        texts = res.txts or ("",) * len(boxes)
        scores = res.scores or (0.0,) * len(boxes)
        return [TextBox(b.x0, b.y0, b.x1, b.y1, str(t), float(s), b.frame) for b, t, s in zip(boxes, texts, scores)]


def _rgb(image: np.ndarray) -> np.ndarray:
    img = np.ascontiguousarray(image)
    if img.dtype != np.uint8:
        raise ValueError(f"OCR needs an 8-bit image, got {img.dtype}; convert with to_uint8()")
    return np.repeat(img[:, :, np.newaxis], 3, axis=2) if img.ndim == 2 else img


def _digest(img: np.ndarray) -> str:
    return hashlib.sha1(img.tobytes() + repr(img.shape).encode()).hexdigest()


def enhance_contrast(image: np.ndarray, *, clip: float = 3.0, tile: int = 8) -> np.ndarray:
    """Local contrast (CLAHE) of an 8-bit grey image, for the second detection pass.

    Why: text drawn straight over a radiograph's texture has little contrast against the bright
    bone or lung around it once the full value range is squeezed into 8 bits; equalising each
    tile's histogram brings the strokes back out.  Colour images are equalised on luminance.
    """
    import cv2

    grey = image if image.ndim == 2 else cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY)
    clahe = cv2.createCLAHE(clipLimit=float(clip), tileGridSize=(int(tile), int(tile)))
    return clahe.apply(np.ascontiguousarray(grey))


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
