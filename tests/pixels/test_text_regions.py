"""Line rules of the region finder, on hand-made boxes (no OCR: the rules are what is tested).

Each test is one failure kind of issue #16: a value split from its key, a name read as a
fragment, an institution wrapped over three lines, unreadable text over anatomy.
"""

from __future__ import annotations

import pytest
from pydicom.dataset import Dataset

from medeid_gui.pixels.ocr import TextBox
from medeid_gui.pixels.phi_match import PhiMatcher
from medeid_gui.pixels.text_regions import classify, group_lines, has_key


@pytest.fixture()
def matcher() -> PhiMatcher:
    ds = Dataset()
    ds.PatientName = "Lindqvist^Fatima"
    ds.PatientID = "039293197"
    ds.PatientBirthDate = "19520720"
    ds.StudyDate = "20130713"
    ds.InstitutionName = "Northfield Regional Medical Center for Women and Children"
    return PhiMatcher.from_dataset(ds)


def _box(x: int, y: int, text: str, conf: float = 0.98, w: int | None = None, h: int = 12) -> TextBox:
    return TextBox(x, y, x + (w or 7 * len(text)), y + h, text, conf)


def test_key_redacts_the_rest_of_its_line(matcher: PhiMatcher) -> None:
    """'Pt Name:' read alone, the value beside it read as two letters: the whole line goes."""
    boxes = [_box(10, 10, "Pt Name:"), _box(80, 11, "Fa", conf=0.9, w=90), _box(400, 10, "kVp 80")]
    reasons = classify(boxes, matcher, "auto")
    assert "key" in reasons[0] and reasons[1] == ("line-of-key",)
    assert reasons[2] == ()  # far along the row (another column of text): not the key's line


def test_weakly_read_text_is_redacted_in_auto(matcher: PhiMatcher) -> None:
    boxes = [
        _box(10, 10, "DOB: 07/20/1952"),
        _box(200, 300, "LNOQV1ST FAT", conf=0.41),
        _box(10, 500, "PA ERECT", conf=0.97),
    ]
    reasons = classify(boxes, matcher, "auto")
    assert "unreadable-text" in reasons[1] and reasons[2] == ()
    # without a patient overlay on the frame, a weak reading is clinical text or texture: kept
    assert classify(boxes[1:], matcher, "auto") == [(), ()]


def test_wrapped_institution_follows_line_by_line(matcher: PhiMatcher) -> None:
    boxes = [
        _box(300, 10, "Northfielc Regioral"),  # OCR errors on small text
        _box(300, 25, "Medical Certer for"),
        _box(300, 40, "Women and Chilcren"),  # truncated lines below are checked in test_phi_match
        _box(300, 55, "Medical Imaging"),  # generic words under it, but not part of the value
    ]
    reasons = classify(boxes, matcher, "auto")
    assert "header:InstitutionName" in reasons[0]
    assert "wrapped-value" in reasons[1] and "wrapped-value" in reasons[2]
    assert reasons[3] == ()
    # the same generic lines alone (no matched line above) are not PHI
    alone = classify(boxes[1:3], matcher, "auto")
    assert alone == [(), ()]


def test_all_mode_takes_every_box(matcher: PhiMatcher) -> None:
    boxes = [_box(10, 10, "PA ERECT"), _box(10, 30, "L")]
    assert classify(boxes, matcher, "all") == [("text",), ("text",)]


def test_lines_group_by_row_and_gap() -> None:
    boxes = [_box(10, 10, "Name:"), _box(60, 12, "SMITH"), _box(10, 30, "ID:"), _box(600, 10, "W 400")]
    lines = group_lines(boxes)
    assert sorted(map(sorted, lines)) == [[0, 1], [2], [3]]


@pytest.mark.parametrize("text", ["Name:", "PATIENT ID", "D.O.B.", "Acc#", "MRN 1234", "Age:", "Institution"])
def test_keys(text: str) -> None:
    assert has_key(text)


@pytest.mark.parametrize("text", ["PA ERECT", "kVp 80 mAs 4", "SL 5.0 mm", "WIDTH", "L", "MIDLINE"])
def test_not_keys(text: str) -> None:
    assert not has_key(text)


def test_tighten_to_the_glyphs() -> None:
    """The detector's box reaches past the text; the fill should not."""
    import numpy as np

    from medeid_gui.pixels.text_regions import tighten

    grey = np.full((60, 200), 90, np.uint8)
    grey[20:32, 40:150] = np.where(np.arange(110) % 3 == 0, 250, 90)[None, :]  # strokes
    # rows 20..31 are text: top and bottom shrink to a margin of 2, the sides by the same 10 pixels
    assert tighten(grey, TextBox(20, 8, 180, 46, "", 0.9)) == (30, 18, 170, 34)
    flat = np.full((60, 200), 90, np.uint8)
    assert tighten(flat, TextBox(20, 8, 180, 46, "", 0.9)) == (20, 8, 180, 46)  # nothing stands out: keep


def test_fragment_under_a_name_is_widened_to_its_column() -> None:
    from medeid_gui.pixels.text_regions import TextRegion, widen_fragments

    name_a = TextRegion(265, 402, 345, 422, ("header:PatientName",), 0.9)
    name_b = TextRegion(344, 402, 395, 422, ("header:PatientName",), 1.0)
    date_end = TextRegion(344, 427, 395, 447, ("header:StudyDate:fragment",), 1.0)
    far = TextRegion(344, 600, 395, 620, ("header:StudyDate:fragment",), 1.0)
    out = widen_fragments([name_a, name_b, date_end, far])
    assert (out[2].x0, out[2].x1) == (265, 395) and "widened" in out[2].reasons
    assert out[3] == far and out[:2] == [name_a, name_b]
