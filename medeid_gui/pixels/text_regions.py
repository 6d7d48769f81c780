"""Which burned-in text regions of one frame to redact: whole lines, not just what was read.

Why more than "OCR, then match each box": on real radiographs the recogniser reads text drawn over
anatomy badly (a name line came back as its first two letters), values are split from their
label ("Name:" and "SMITH JOHN" as two boxes), and a wrapped institution name leaves lines of
generic words.  So:

1. a fast detector-only pass finds where text is (every image-bearing frame pays only this);
2. the boxes are read; a box is kept even when the reading is weak (``confidence`` low): it is
   text, and unreadable text on a medical image is treated as possibly PHI in ``auto``;
3. where the first pass found anything, a second detector pass on a contrast-enhanced frame and
   on its inverse (dark text on bright anatomy) adds the boxes the first pass missed;
4. boxes are grouped into lines; a line with a PHI key ("Name", "ID", "DOB", "Acc", ...) is
   redacted from the key to its end, and a line that continues a matched multi-word value (the
   next line of a wrapped institution name) is redacted with it.

The result carries reasons, never the text, so reports cannot repeat the PHI they removed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from .ocr import OcrEngine, TextBox, enhance_contrast
from .phi_match import PhiMatcher

__all__ = [
    "TextRegion",
    "KEY_RE",
    "has_key",
    "group_lines",
    "classify",
    "frame_text_regions",
    "stretch",
    "tighten",
    "widen_fragments",
]

#: Labels that introduce a PHI value on an overlay line.
KEY_RE = re.compile(
    r"(?<![A-Z])(NAME|PATIENT|PAT|PT|PID|ID|MRN|DOB|D\.?O\.?B|BIRTH|BORN|BIRTHDATE|AGE|SEX|ACC|ACC\.|ACCESSION|ACCN|"
    r"INSTITUTION|INST|HOSPITAL|REF|REFERRING|PHYSICIAN|STUDY\s*DATE|EXAM\s*DATE|DATE)(?![A-Z])"
)
#: Recogniser score under which a reading is "weak": the box is text, what it says is unknown.
WEAK = 0.75
#: Pixels added around each detected box when it is filled.
PAD = 1


@dataclass(frozen=True)
class TextRegion:
    """A region to fill, in frame pixels (``x1``/``y1`` exclusive), and why."""

    x0: int
    y0: int
    x1: int
    y1: int
    reasons: tuple[str, ...]
    confidence: float
    frame: int = 0


def has_key(text: str) -> bool:
    """Does this line carry a PHI label (upper-cased, so 'Name:' and 'NAME' both count)?"""
    return bool(KEY_RE.search(str(text).upper()))


def stretch(image: np.ndarray, lo_pct: float = 1.0, hi_pct: float = 99.0) -> np.ndarray:
    """Percentile stretch of an 8-bit frame: the anatomy's own range, not the stored extremes."""
    lo, hi = np.percentile(image, [lo_pct, hi_pct])
    if hi <= lo:
        return image
    out = (image.astype(np.float32) - lo) * (255.0 / (hi - lo))
    return np.clip(out, 0, 255).astype(np.uint8)


def _overlap(a: TextBox, b: TextBox) -> float:
    """Intersection over the smaller box's area."""
    ix = max(0, min(a.x1, b.x1) - max(a.x0, b.x0))
    iy = max(0, min(a.y1, b.y1) - max(a.y0, b.y0))
    small = min(a.area, b.area) or 1
    return ix * iy / small


def _same_line(a: TextBox, b: TextBox) -> bool:
    iy = min(a.y1, b.y1) - max(a.y0, b.y0)
    h = min(a.y1 - a.y0, b.y1 - b.y0)
    return h > 0 and iy >= 0.5 * h


def group_lines(boxes: list[TextBox]) -> list[list[int]]:
    """Indices of ``boxes`` grouped into text lines (vertical overlap, then a horizontal gap of
    at most three line heights), each line ordered left to right."""
    order = sorted(range(len(boxes)), key=lambda i: (boxes[i].y0, boxes[i].x0))
    lines: list[list[int]] = []
    for i in order:
        for line in lines:
            if any(_same_line(boxes[i], boxes[j]) for j in line):
                line.append(i)
                break
        else:
            lines.append([i])
    out: list[list[int]] = []
    for line in lines:
        line.sort(key=lambda i: boxes[i].x0)
        run = [line[0]]
        for i in line[1:]:
            prev = boxes[run[-1]]
            h = max(prev.y1 - prev.y0, boxes[i].y1 - boxes[i].y0)
            if boxes[i].x0 - max(boxes[j].x1 for j in run) > 3 * h:
                out.append(run)
                run = [i]
            else:
                run.append(i)
        out.append(run)
    return out


def _next_line_of(a: TextBox, b: TextBox) -> bool:
    """Is ``b`` the line directly above or below ``a``, starting near the same column?"""
    h = max(a.y1 - a.y0, b.y1 - b.y0)
    gap = max(b.y0 - a.y1, a.y0 - b.y1)
    x_near = abs(a.x0 - b.x0) <= 2 * h or min(a.x1, b.x1) > max(a.x0, b.x0)
    return -0.3 * h <= gap <= 1.2 * h and x_near and not _same_line(a, b)


def _merge_new(found: list[TextBox], extra: Iterable[TextBox]) -> list[TextBox]:
    """Boxes of ``extra`` that no box of ``found`` already covers."""
    out = []
    for b in extra:
        if all(_overlap(b, f) < 0.6 for f in found + out):
            out.append(b)
    return out


def classify(boxes: list[TextBox], matcher: PhiMatcher, mode: str) -> list[tuple[str, ...]]:
    """Reasons to redact each read box (empty: keep), applying the line and wrap rules."""
    reasons: list[list[str]] = []
    for b in boxes:
        if mode == "all":
            reasons.append(["text"])
            continue
        r = list(matcher.match(b.text))
        if has_key(b.text):
            r.append("key")
        if not r:
            r += [x + ":fragment" for x in matcher.fragment(b.text)]
        alnum = sum(c.isalnum() for c in b.text)
        if b.confidence < WEAK and alnum >= 2:
            r.append("unreadable-text")
        reasons.append(r)
    if mode != "all":
        evidence = any(x == "key" or x.startswith("header:") for r in reasons for x in r)
        if not evidence:  # no patient overlay on this frame: weak readings are clinical text or texture
            reasons = [[x for x in r if x != "unreadable-text"] for r in reasons]
        for line in group_lines(boxes):
            keyed = [
                k for k, i in enumerate(line) if "key" in reasons[i] or any(x.startswith("header:") for x in reasons[i])
            ]
            if keyed:
                for i in line[keyed[0] + 1 :]:
                    if not reasons[i]:
                        reasons[i].append("line-of-key")
        changed = True
        while changed:  # a wrapped value: follow it line by line
            changed = False
            for i, b in enumerate(boxes):
                heads = [x for x in reasons[i] if x.startswith("header:")]
                if not heads:
                    continue
                for j, c in enumerate(boxes):
                    if j != i and not any(x.startswith("header:") for x in reasons[j]) and _next_line_of(b, c):
                        cont = matcher.continues(c.text, heads)
                        if cont:
                            reasons[j] += cont + ["wrapped-value"]
                            changed = True
    return [tuple(sorted(set(r))) for r in reasons]


#: No burned-in line of text is taller than this share of the frame; the detector sometimes returns
#: one box over a whole CT slice (the skull read as "O"), which is not text and would otherwise set
#: off the four-view second pass on every slice of a series.
MAX_LINE_SHARE = 0.25


def plausible_line(box: TextBox, rows: int) -> bool:
    """A detector box that can be a line of text: at most ``MAX_LINE_SHARE`` of the frame tall."""
    return (box.y1 - box.y0) <= MAX_LINE_SHARE * rows


def frame_text_regions(
    image: np.ndarray,
    matcher: PhiMatcher,
    mode: str,
    ocr: OcrEngine,
    *,
    frame: int = 0,
    second_pass: bool = True,
    extra_views: Iterable[np.ndarray] = (),
) -> tuple[list[TextRegion], list[TextRegion]]:
    """Regions to redact in one 8-bit display frame (text light on dark as shown), and every text
    box seen, tightened the same way, kept or not (a modality's rule band fills the lines it
    holds, ``band_text``).  ``mode`` is ``auto`` (PHI, key lines, unreadable text) or ``all``.
    ``extra_views``: further 8-bit renderings of the same frame for the second pass (e.g. the
    pixels at the stored extremes, where consoles draw text), read only when the first pass
    found text."""
    first = [b for b in ocr.find_text(image) if plausible_line(b, image.shape[0])]
    if not first:
        return [], []
    grey = image if image.ndim == 2 else np.ascontiguousarray(image.mean(axis=2).astype(np.uint8))
    boxes = ocr.read(image, first)
    views = [grey] * len(boxes)
    extremes = list(extra_views)
    if second_pass:
        enhanced = enhance_contrast(stretch(grey))
        for variant in (enhanced, 255 - enhanced, *extremes):
            extra = ocr.read(variant, _merge_new(boxes, ocr.find_text(variant)))
            boxes += extra
            views += [variant] * len(extra)
    reasons = classify(boxes, matcher, mode)
    rows, cols = image.shape[:2]
    out, seen = [], []
    for b, r, view in zip(boxes, reasons, views):
        x0, y0, x1, y1 = tighten([view, *extremes], b)
        x0, y0 = max(0, x0 - PAD), max(0, y0 - PAD)
        x1, y1 = min(cols, x1 + PAD), min(rows, y1 + PAD)
        region = TextRegion(x0, y0, x1, y1, r or ("seen",), b.confidence, frame)
        seen.append(region)
        if r:
            out.append(region)
    return widen_fragments(out), seen


def widen_fragments(regions: list[TextRegion]) -> list[TextRegion]:
    """A fragment of a value (the detector saw only part of the line) stacked under or over
    matched PHI lines is widened to their horizontal extent.

    Why: black text over anatomy is found piecewise; the visible end of a date under a name is
    matched as a fragment, and the rest of that line sits in the same column as the name above.
    """
    out = list(regions)
    for i, r in enumerate(regions):
        if not any(x.endswith(":fragment") for x in r.reasons):
            continue
        h = r.y1 - r.y0
        near = [
            q
            for q in regions
            if q is not r
            and any(x.startswith("header:") and not x.endswith(":fragment") for x in q.reasons)
            and -0.3 * h <= max(q.y0 - r.y1, r.y0 - q.y1) <= 0.8 * h
            and min(q.x1, r.x1) > max(q.x0, r.x0)
        ]
        if near:
            row = [q for q in regions if any(_rows_overlap(q, n) for n in near) and q.reasons]
            x0, x1 = min(q.x0 for q in row + [r]), max(q.x1 for q in row + [r])
            out[i] = TextRegion(x0, r.y0, x1, r.y1, r.reasons + ("widened",), r.confidence, r.frame)
    return out


def _rows_overlap(a: TextRegion, b: TextRegion) -> bool:
    return min(a.y1, b.y1) - max(a.y0, b.y0) >= 0.5 * min(a.y1 - a.y0, b.y1 - b.y0)


def _glyph_rows(view: np.ndarray, box: TextBox, min_contrast: int) -> tuple[int, int] | None:
    """First and last row (box-relative) of pixels standing out from the box's median in ``view``."""
    crop = view[box.y0 : box.y1, box.x0 : box.x1]
    if crop.size == 0:
        return None
    dev = np.abs(crop.astype(np.int16) - int(np.median(crop)))
    peak = int(dev.max())
    if peak < min_contrast:
        return None
    on = dev >= max(min_contrast, peak // 3)
    if not 0.02 <= on.mean() <= 0.6:  # nothing clear, or a band/background rather than strokes
        return None
    rows = np.nonzero(on.sum(axis=1) >= 2)[0]
    return (int(rows[0]), int(rows[-1])) if len(rows) >= 3 else None


def tighten(views: np.ndarray | list[np.ndarray], box: TextBox, *, min_contrast: int = 24) -> tuple[int, int, int, int]:
    """The box shrunk back towards its glyphs, plus a small margin.

    Why: the detector grows each text region by the same distance on every side (its unclip
    ratio) and filling that whole box blanks image around every line; on a 1000-pixel radiograph
    that alone was about 1% of the image.  The glyphs' vertical extent is measured in each view
    of the frame (the one the box was found in, and the stored-extreme views, where text drawn at
    an extreme value stands alone even on a light band) and the narrowest clear one is used; the
    sides are then pulled in by the same distance the top and bottom were, never by a per-pixel
    decision, so faint strokes at a line's ends are not cut off.  A box with no clear text rows
    in any view (text barely above texture) is kept as the detector gave it.
    """
    found = [
        r
        for r in (_glyph_rows(v, box, min_contrast) for v in ([views] if isinstance(views, np.ndarray) else views))
        if r
    ]
    if not found:
        return box.x0, box.y0, box.x1, box.y1
    first, last = min(found, key=lambda r: r[1] - r[0])
    m = max(2, (last - first + 1) // 5)
    top = max(0, first - m)
    bottom = max(0, (box.y1 - box.y0) - (last + 1 + m))
    side = min(top, bottom, max(0, (box.x1 - box.x0) // 4))
    return box.x0 + side, box.y0 + top, box.x1 - side, box.y1 - bottom
