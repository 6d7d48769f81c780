"""Pixel de-identification of one dataset: burned-in text, user rectangles, privacy level ``p``.

Why one entry point: the export pipeline and the GUI both need the same decision ("does this
image need its pixels checked, what was removed, may the header claim Clean Pixel Data / Clean
Recognizable Visual Features?") and the same guarantee that pixels are written only when they
actually changed, so ``--privacy 0`` on an image without burned-in PHI leaves Pixel Data
byte-identical.

Order of work on an image:

1. Pass through objects without pixels or of a non-image modality (SR, RTDOSE, ECG, ...): a note.
2. Burned-in text (``auto``/``all``) on every image-bearing object whatever its modality:
   ``burned_in.scan_text`` runs the detector's fast pass on every frame (an even sample of 16 for
   longer objects, reported), reads what it finds, and keeps PHI, key lines and unreadable text
   (``auto``) or all text (``all``); the modality's rule bands (filled where they hold text,
   ``band_text``) and the user's rectangles are added.  Boxes are filled with the value that
   *displays* black (``burned_in.display_black``: the high end for MONOCHROME1) in stored values
   in *every* frame.
3. Privacy ``p > 0``: every frame goes through ``deidentify(frame, p)`` in the modality's working
   window (grey working image in [0, 1]; colour via luminance, blocked pixels become grey) and
   only the pixels the method's mask marks as blocked are replaced, so unblocked pixels keep their
   exact stored values even outside the working window.
4. If any stored value changed, ``dicom.pixelwrite.replace_frames`` writes uncompressed Pixel
   Data with consistent attributes; otherwise Pixel Data is not touched.

The report never contains the recognised text (only box geometry and the reasons), so manifests
built from it do not repeat the PHI they removed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from pydicom.dataset import Dataset

from ..dicom.pixelwrite import PixelWriteError, decode_stored, replace_frames, stored_range
from ..ml.photometric import from_model_sense, to_model_sense
from ..ml.privacy import Privacy, check_privacy, method_runs
from .band_text import band_text_rects
from .burned_in import MAX_TEXT_FRAMES, display_black, ocr_frame, scan_text
from .errors import PixelCleanError, PrivacyRefused
from .ocr import OcrEngine
from .redact import ModalityRules, Rect, RectangleSpec, fill_rects, load_rules, parse_rectangle, rule_rects

if TYPE_CHECKING:  # pragma: no cover
    from ..ml.engine import DeidOutput, InferenceEngine

__all__ = [
    "PixelRequest",
    "PixelReport",
    "RedactedBox",
    "PixelCleanError",
    "PrivacyRefused",
    "clean_pixels",
    "find_boxes",
    "BURNED_IN_MODES",
    "PreparedPixels",
    "PrivacyPlan",
    "prepare_pixels",
    "finish_pixels",
]

BURNED_IN_MODES = ("auto", "all", "off")


@dataclass(frozen=True)
class PixelRequest:
    """What to do to one image's pixels.

    ``privacy``: level in [0, 1] for identity blocking (0: off; checked here, ``ValueError``).
    ``burned_in``: ``auto`` (read every image's text and redact what matches or looks like PHI),
    ``all`` (redact all detected text) or ``off``.  ``rectangles``: user regions ``"x,y,w,h"`` /
    ``(x, y, w, h)`` filled in every frame, held as :class:`Rect` once built.  ``seed`` makes the
    method's tie-breaking and noise reproducible.  Its ``repr`` is part of the export's settings
    fingerprint: a new field would make earlier output folders look like other settings.
    """

    privacy: Privacy = 0.0
    burned_in: str = "auto"
    rectangles: Sequence[RectangleSpec] = ()
    seed: int = 0
    #: fail an image the method may not run on (out of every model's domain, or unfamiliar)
    #: instead of exporting it without pixel privacy; out of ``repr`` so that earlier exports keep
    #: their settings fingerprint (``export.fingerprint`` adds it when set)
    strict_privacy: bool = field(default=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "privacy", check_privacy(self.privacy))
        mode = str(self.burned_in).lower()
        mode = {"on": "all"}.get(mode, mode)  # the export CLI spells "all" as "on"
        if mode not in BURNED_IN_MODES:
            raise ValueError(f"burned_in must be one of {', '.join(BURNED_IN_MODES)}, got {self.burned_in!r}")
        object.__setattr__(self, "burned_in", mode)
        object.__setattr__(self, "rectangles", tuple(parse_rectangle(r) for r in (self.rectangles or ())))

    @property
    def regions(self) -> tuple[Rect, ...]:
        """The user rectangles (parsed when the request was built)."""
        return tuple(r for r in self.rectangles if isinstance(r, Rect))

    def runs(self, privacy_by_series: Mapping[str, Privacy] | None = None) -> bool:
        """Whether the pixel step runs at all: the one place that decides it.

        True when the method runs (this level or any per-series level above 0), burned-in text is
        checked, or there are user rectangles.  The export builds no request (header only) when
        this is False; :func:`prepare_pixels` passes an image through when it is False.
        """
        return method_runs(self.privacy, privacy_by_series) or self.burned_in != "off" or bool(self.rectangles)

    @property
    def runs_method(self) -> bool:
        """Whether identity blocking runs on this request's images (its level above 0)."""
        return method_runs(self.privacy)

    @property
    def needs_pixels(self) -> bool:
        """:meth:`runs` for this request alone (no per-series levels)."""
        return self.runs()

    def for_series(self, series_uid: str, privacy_by_series: Mapping[str, Privacy] | None) -> PixelRequest:
        """The request for one series: its own level when one was chosen for it in the viewer."""
        level = (privacy_by_series or {}).get(series_uid)
        if level is None or level == self.privacy:
            return self
        return dataclasses.replace(self, privacy=level)


@dataclass(frozen=True)
class RedactedBox:
    """A filled region (applied to every frame); ``frame`` is where OCR found it (-1: not OCR)."""

    x0: int
    y0: int
    x1: int
    y1: int
    source: str  # "ocr", "rule", "user"
    reasons: tuple[str, ...] = ()
    confidence: float = 1.0
    frame: int = -1


@dataclass
class PixelReport:
    """What :func:`clean_pixels` did.

    ``pixels_cleaned``: burned-in text was checked (OCR) and what it found redacted — the header
    may then claim Clean Pixel Data (113101) and BurnedInAnnotation NO.
    ``visual_features_cleaned``: identity blocking at ``p > 0`` replaced pixels in every frame —
    the header may claim Clean Recognizable Visual Features (113102).
    """

    changed: bool = False
    text_boxes: tuple[RedactedBox, ...] = ()
    pixels_cleaned: bool = False
    visual_features_cleaned: bool = False
    notes: list[str] = field(default_factory=list)
    text_lines_seen: int = 0
    frames: int = 0
    frames_checked: tuple[int, ...] = ()


# ---- helpers -----------------------------------------------------------------------------


def _modality(ds: Dataset) -> str:
    return str(ds.get("Modality", "") or "").strip().upper()


def _has_pixels(ds: Dataset) -> bool:
    return "PixelData" in ds


def _should_check_text(ds: Dataset, mode: str, rules: ModalityRules) -> bool:
    """Whether burned-in text is looked for: in ``auto`` and ``all`` on every image-bearing object.

    Why not only the text modalities (US, SC, ...) or BurnedInAnnotation YES: PACS overlays on
    CR/DX, CT/MR screen captures and reformats, and MG labels carry names and dates whatever the
    header claims; the detector's fast pass is cheap enough to run on every frame it reads.
    Non-image objects never reach this point (they are passed through before).
    """
    return mode != "off"


def sample_indices(n: int, k: int) -> list[int]:
    """``k`` frame indices spread over ``n`` frames (first and last included)."""
    if n <= k or k <= 0:
        return list(range(n))
    return sorted({int(round(i * (n - 1) / (k - 1))) for i in range(k)}) if k > 1 else [0]


def _rescale(ds: Dataset, index: int) -> tuple[float, float]:
    """Per-frame (slope, intercept): per-frame functional groups, shared groups, then top level."""
    for groups, i in (("PerFrameFunctionalGroupsSequence", index), ("SharedFunctionalGroupsSequence", 0)):
        seq = ds.get(groups)
        if seq and len(seq) > i:
            pvt = seq[i].get("PixelValueTransformationSequence")
            if pvt and "RescaleSlope" in pvt[0]:
                return float(pvt[0].RescaleSlope or 1) or 1.0, float(pvt[0].get("RescaleIntercept", 0) or 0)
    return float(ds.get("RescaleSlope", 1) or 1) or 1.0, float(ds.get("RescaleIntercept", 0) or 0)


def _palette_to_rgb(ds: Dataset, stored: np.ndarray) -> np.ndarray:
    from pydicom.pixels import apply_color_lut

    rgb = apply_color_lut(stored, ds)
    if rgb.dtype != np.uint8:
        rgb = np.rint(rgb.astype(np.float64) / (257.0 if rgb.max(initial=0) > 255 else 1.0)).astype(np.uint8)
    return rgb


def _working_window(ds: Dataset, stored: np.ndarray, rules: ModalityRules, sample: list[int]) -> tuple[float, float]:
    """(low, high) in modality units that maps to [0, 1] for the method."""
    spec = rules.working_window.get(_modality(ds), rules.working_window.get("DEFAULT", "range"))
    if isinstance(spec, (list, tuple)) and len(spec) == 2:
        return float(spec[0]), float(spec[1])
    slope, intercept = _rescale(ds, 0)
    lo_s, hi_s = stored_range(ds)
    if int(ds.get("BitsStored") or 8) <= 8 and (slope, intercept) == (1.0, 0.0):
        return float(lo_s), float(hi_s)
    values = np.concatenate([stored[i].ravel()[:: max(1, stored[i].size // 200_000)] for i in sample])
    values = values.astype(np.float64) * slope + intercept
    lo, hi = np.percentile(values, [0.5, 99.5])
    if hi <= lo:
        lo, hi = float(values.min()), float(values.max()) + 1.0
    return float(lo), float(hi)


def _find_boxes(
    ds: Dataset,
    work: np.ndarray,
    photometric: str,
    request: PixelRequest,
    rules: ModalityRules,
    check_text: bool,
    ocr: OcrEngine | None,
    report: PixelReport,
) -> list[RedactedBox]:
    """Text regions from :func:`scan_text` (PHI and key lines in ``auto``, all text in ``all``),
    the modality's rule bands and the user rectangles.

    ``photometric`` is how ``work`` is shown (``RGB`` once a palette image is converted).
    """
    rows, cols = work.shape[1], work.shape[2]
    boxes: list[RedactedBox] = []
    scan = None
    if check_text:
        scan = scan_text(ds, work, request.burned_in, ocr=ocr, max_frames=MAX_TEXT_FRAMES, photometric=photometric)
        report.frames_checked = scan.frames_checked
        report.text_lines_seen = scan.text_lines_seen
        report.notes += scan.notes
        for r in scan.regions:
            boxes.append(RedactedBox(r.x0, r.y0, r.x1, r.y1, "ocr", r.reasons, r.confidence, r.frame))
        report.pixels_cleaned = True
    if request.burned_in != "off":
        for rect, reason in rule_rects(ds, rows, cols, rules):
            parts = [rect]
            if scan is not None:  # the band where it holds text (band_text), not edge to edge
                views = [ocr_frame(work[i], photometric) for i in scan.frames_checked]
                lines = [Rect(r.x0, r.y0, r.x1, r.y1) for r in scan.seen]
                parts = band_text_rects(rect, lines, views)
            for p in parts:
                boxes.append(RedactedBox(p.x0, p.y0, p.x1, p.y1, "rule", (reason,)))
    for rect in request.regions:
        c = rect.clipped(rows, cols)
        if c is None:
            report.notes.append(f"rectangle {rect} lies outside the {cols}x{rows} image: ignored")
            continue
        boxes.append(RedactedBox(c.x0, c.y0, c.x1, c.y1, "user", ("user-rectangle",)))
    return boxes


def find_boxes(
    ds: Dataset, request: PixelRequest, *, ocr: OcrEngine | None = None, rules: ModalityRules | None = None
) -> PixelReport:
    """What :func:`clean_pixels` would redact, without changing ``ds`` (for previews in the GUI).

    The report's ``text_boxes`` are the regions; ``changed`` stays False.
    """
    rules = rules or load_rules()
    report = PixelReport()
    if not _has_pixels(ds) or _modality(ds) in rules.non_image_modalities:
        return report
    try:
        stored = decode_stored(ds)
    except PixelWriteError as exc:
        raise PixelCleanError(str(exc)) from exc
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).strip().upper()
    if photometric == "PALETTE COLOR":
        stored, photometric = _palette_to_rgb(ds, stored), "RGB"
    report.frames = stored.shape[0]
    check = _should_check_text(ds, request.burned_in, rules)
    report.text_boxes = tuple(_find_boxes(ds, stored, photometric, request, rules, check, ocr, report))
    return report


# ---- main entry --------------------------------------------------------------------------


@dataclass
class PreparedPixels:
    """An image after steps 1-2 (text found and filled), waiting for step 3 (identity blocking).

    Why split: the export batches the method across files (one device call for the frames of
    many images), so the per-image work before and after the method runs separately.  ``plan``
    is None when no identity blocking is asked for (or the image is passed through);
    :func:`finish_pixels` writes the result.  ``done`` means there is nothing more to do at all.
    """

    ds: Dataset
    request: PixelRequest
    report: PixelReport
    original: np.ndarray | None = None
    work: np.ndarray | None = None
    plan: PrivacyPlan | None = None
    done: bool = False

    @property
    def frames(self) -> int:
        return 0 if self.work is None else int(self.work.shape[0])


class PrivacyPlan:
    """How the frames of one image go into the method and how its output comes back.

    Working images are grey in [0, 1] over the modality's working window (colour via luminance);
    only the pixels the method's mask marks as blocked are written back, so unblocked pixels keep
    their exact stored values even outside the working window.
    """

    def __init__(self, ds: Dataset, stored: np.ndarray, request: PixelRequest, rules: ModalityRules) -> None:
        self.ds, self.stored, self.p, self.seed = ds, stored, request.privacy, request.seed
        self.colour = stored.ndim == 4
        n = stored.shape[0]
        if self.colour:
            self.lo, self.hi = 0.0, 255.0 if stored.dtype == np.uint8 else float(stored.max(initial=1))
            self.weights = np.array([0.299, 0.587, 0.114], dtype=np.float32)
        else:
            self.lo, self.hi = _working_window(ds, stored, rules, sample_indices(n, rules.sample_frames))
        self.s_lo, self.s_hi = (0, 255) if self.colour else stored_range(ds)
        self.model_dir: str | None = None  #: a site model's folder (None: the shipped model)
        #: MONOCHROME1 frames go to the model inverted (it was trained on MONOCHROME2)
        self.photometric = "" if self.colour else str(ds.get("PhotometricInterpretation", "")).strip().upper()

    def working(self, i: int) -> np.ndarray:
        """Frame ``i`` as the method's input (MONOCHROME2 sense: MONOCHROME1 is inverted)."""
        if self.colour:
            values = self.stored[i].astype(np.float32) @ self.weights
        else:
            slope, intercept = _rescale(self.ds, i)
            values = self.stored[i].astype(np.float32) * np.float32(slope) + np.float32(intercept)
        work = np.clip((values - self.lo) / (self.hi - self.lo), 0.0, 1.0).astype(np.float32)
        return to_model_sense(work, self.photometric)

    def write_back(self, i: int, result: DeidOutput) -> None:
        """Put the blocked pixels of the method's ``(frame, identity_map, mask)`` into frame ``i``."""
        stored = self.stored
        result = from_model_sense(result, self.photometric)
        frame_out, mask = np.asarray(result[0], dtype=np.float64), np.asarray(result[2], dtype=bool)
        if mask.shape != stored.shape[1:3]:
            raise PixelCleanError(f"method returned a {mask.shape} mask for a {stored.shape[1:3]} frame")
        values = self.lo + np.clip(frame_out[mask], 0.0, 1.0) * (self.hi - self.lo)
        if not self.colour:
            slope, intercept = _rescale(self.ds, i)
            values = (values - intercept) / slope
        new = np.clip(np.rint(values), self.s_lo, self.s_hi).astype(stored.dtype)
        if self.colour:
            stored[i][mask] = new[:, None]
        else:
            stored[i][mask] = new

    def run(self, engine: InferenceEngine, chunk: int = 32) -> None:
        """Every frame through ``engine`` in chunks (long cines stay within memory).

        Raises :class:`PixelCleanError`; any other failure (weights missing, device errors) is
        worded as one, so every caller reports it the same way.
        """
        n = self.stored.shape[0]
        try:
            for start in range(0, n, chunk):
                idx = range(start, min(n, start + chunk))
                results = engine.run_batch([self.working(i) for i in idx], self.p, seed=self.seed)
                for i, res in zip(idx, results):
                    self.write_back(i, res)
        except PixelCleanError:
            raise
        except Exception as exc:
            raise PixelCleanError(f"identity blocking at p={self.p:g} failed: {type(exc).__name__}: {exc}") from exc


def prepare_pixels(
    ds: Dataset,
    request: PixelRequest,
    *,
    ocr: OcrEngine | None = None,
    rules: ModalityRules | None = None,
) -> PreparedPixels:
    """Steps 1-2 of :func:`clean_pixels` (pass-through decision, text, rectangles) and the plan
    for step 3.  Raises :class:`PixelCleanError` (``ds`` unchanged) when pixels cannot be decoded."""
    rules = rules or load_rules()
    report = PixelReport()
    prep = PreparedPixels(ds, request, report, done=True)
    modality = _modality(ds)
    if not request.needs_pixels:
        return prep
    if not _has_pixels(ds):
        kind = "float pixel data" if ("FloatPixelData" in ds or "DoubleFloatPixelData" in ds) else "no pixel data"
        report.notes.append(f"{kind} ({modality or 'no modality'}): pixels passed through, header only")
        return prep
    if modality in rules.non_image_modalities:
        report.notes.append(f"non-image object ({modality}): pixels passed through, header only")
        return prep

    from .privacy_gate import gate_request  # the method only inside an installed model's domain

    request, gate = gate_request(ds, request, report)
    check_text = _should_check_text(ds, request.burned_in, rules)
    has_rule = request.burned_in != "off" and bool(rules.rules.get(modality))
    if not (check_text or has_rule or request.rectangles or request.runs_method):
        return prep

    try:
        original = decode_stored(ds)
    except PixelWriteError as exc:
        raise PixelCleanError(str(exc)) from exc
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).strip().upper()
    report.frames = original.shape[0]
    work = original.copy()
    shown = photometric
    if photometric == "PALETTE COLOR" and (check_text or request.runs_method):
        work, shown = _palette_to_rgb(ds, original), "RGB"
        report.notes.append("PALETTE COLOR image converted to RGB")
    boxes = _find_boxes(ds, work, shown, request, rules, check_text, ocr, report)
    report.text_boxes = tuple(boxes)
    if boxes:
        # the value that displays black (MONOCHROME1: the high end; past the VOI window's dark edge)
        fill_rects(work, [Rect(b.x0, b.y0, b.x1, b.y1) for b in boxes], display_black(ds, work))
    prep.original, prep.work, prep.done = original, work, False
    if request.runs_method:
        try:
            prep.plan = PrivacyPlan(ds, work, request, rules)
            prep.plan.model_dir = gate.model_dir if gate is not None else None
        except Exception as exc:
            raise PixelCleanError(
                f"identity blocking at p={request.privacy:g} failed: {type(exc).__name__}: {exc}"
            ) from exc
    return prep


def finish_pixels(prep: PreparedPixels) -> PixelReport:
    """Write what changed (after the plan's frames went through the method, if there is a plan)."""
    report = prep.report
    if prep.done or prep.work is None or prep.original is None:
        return report
    if prep.plan is not None:
        report.visual_features_cleaned = True
    work, original = prep.work, prep.original
    if work.shape == original.shape and np.array_equal(work, original):
        return report  # nothing changed: Pixel Data stays byte-identical
    try:
        replace_frames(prep.ds, work, stored=True)
    except PixelWriteError as exc:
        raise PixelCleanError(f"cannot write the cleaned pixels: {exc}") from exc
    report.changed = True
    return report


def clean_pixels(
    ds: Dataset,
    request: PixelRequest,
    *,
    engine: InferenceEngine | None = None,
    ocr: OcrEngine | None = None,
    rules: ModalityRules | None = None,
) -> PixelReport:
    """Clean the pixels of ``ds`` in place as ``request`` asks; see the module docstring.

    Raises :class:`PixelCleanError` (``ds`` unchanged) when the pixels needed work but could not
    be decoded or written.
    """
    prep = prepare_pixels(ds, request, ocr=ocr, rules=rules)
    if prep.plan is not None:
        from .privacy_gate import run_checked

        run_checked(prep, engine)  # unfamiliar images: no method (or refused); on failure ds unchanged
    return finish_pixels(prep)
