"""The burned-in benchmark's ground truth for ``all``: the base images' own text, boxed by hand.

``all`` removes all text, so a region it fills over the lead "R" marker of RG3 is right, not a
false region, and the pixels it changes there are not collateral; a region over anything else
still is.  The hand-made boxes are checked against the pixels (no OCR): each lies on glyph
strokes standing out from their surroundings.
"""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.burned_in.generate import Item, base_images, native_items
from benchmarks.burned_in.score import score_case
from medeid_gui.dicom.pixelwrite import decode_stored
from medeid_gui.pixels.burned_in import ocr_frame


@pytest.fixture(scope="module")
def rg3_bases() -> dict[str, np.ndarray]:
    out = {}
    for name, ds in base_images(ocr=None):
        if name in ("CR-MONO1-880", "DX-MONO2-880"):
            out[name] = ocr_frame(decode_stored(ds)[0], str(ds.PhotometricInterpretation))
        if len(out) == 2:
            break
    return out


def test_native_boxes_lie_on_the_marker(rg3_bases: dict[str, np.ndarray]) -> None:
    for name, shown in rg3_bases.items():
        (item,) = native_items(name, *shown.shape)
        x0, y0, x1, y1 = item.box
        inside = shown[y0:y1, x0:x1]
        assert not item.phi and item.key == "native"
        assert (inside > 150).mean() > 0.2 and (inside < 60).mean() > 0.2  # light strokes on the dark square
        ring = shown[y0 - 12 : y1 + 12, x0 - 12 : x0 - 4]  # the dark field left of the marker
        assert ring.max() < 60
    assert native_items("CT-512", 512, 512) == []


def test_all_region_on_native_text_is_text_not_collateral(rg3_bases: dict[str, np.ndarray]) -> None:
    shown = rg3_bases["CR-MONO1-880"]
    rows, cols = shown.shape
    phi_mask = np.zeros((rows, cols), bool)
    phi_mask[20:40, 20:120] = True
    items = [Item("PatientName", "X", True, phi_mask, (20, 20, 120, 40)), *native_items("CR-MONO1-880", rows, cols)]
    before = shown.copy()
    marker = (566, 686, 616, 742)  # a fill of the marker square
    elsewhere = (300, 300, 340, 330)
    after = before.copy()
    for x0, y0, x1, y1 in ((20, 20, 120, 40), marker, elsewhere):
        after[y0:y1, x0:x1] = 255
    s = score_case(items, before, after, [(20, 20, 120, 40), marker, elsewhere])
    assert s.removed == 1 and s.regions == 3 and s.regions_on_phi == 1 and s.regions_on_text == 2
    changed_elsewhere = (before[300:330, 300:340] != 255).sum()
    assert s.collateral == pytest.approx(changed_elsewhere / (rows * cols))
    s_without = score_case(items[:1], before, after, [(20, 20, 120, 40), marker, elsewhere])
    assert s_without.regions_on_text == 1 and s_without.collateral > s.collateral
