"""Burned-in text: OCR boxes drawn on the original; user rectangles reach the export."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
from pydicom.data import get_testdata_file


def _burn_text(tmp_path: Path) -> Path:
    """CT_small with a name burned into its pixels (what a secondary capture often carries)."""
    from PIL import Image, ImageDraw, ImageFont

    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    arr = ds.pixel_array.copy()
    img = Image.new("L", (arr.shape[1], arr.shape[0]), 0)
    try:
        font = ImageFont.load_default(size=14)
    except TypeError:  # older Pillow
        font = ImageFont.load_default()
    ImageDraw.Draw(img).text((4, 4), "DOE JOHN 123456", fill=255, font=font)
    arr[np.asarray(img) > 128] = int(arr.max())
    ds.PixelData = arr.tobytes()
    out = tmp_path / "burned.dcm"
    ds.save_as(out)
    return out


def _show(qtbot, window, path: Path):
    with qtbot.waitSignal(window.frameShown, timeout=30000) as b:
        window.open_paths([path])
    return b.args[0]


def test_detected_text_is_drawn_on_the_original(qtbot, window, tmp_path) -> None:
    path = _burn_text(tmp_path)
    _show(qtbot, window, path)
    tb = window.textboxes
    with qtbot.waitSignal(tb.detected, timeout=90000) as b:
        tb.detect()
    assert b.args[1] >= 1
    rects = tb.rectangles()
    found = [r for r in rects if r.source == "ocr"]
    # the panel shows exactly the regions the export fills (its find_boxes), labelled by reason
    from medeid_gui.pixels.clean import PixelRequest, find_boxes

    export_boxes = find_boxes(pydicom.dcmread(path), PixelRequest()).text_boxes
    assert [(r.x0, r.y0, r.x1, r.y1) for r in found] == [(b.x0, b.y0, b.x1, b.y1) for b in export_boxes]
    r = found[0]
    assert r.x0 < 20 and r.y0 < 20 and r.x1 > 60  # where the text was burned in, the whole line
    assert "DOE" not in r.text.upper()  # reasons, never the text read
    rois = [item for item in window.viewer.original.vb.addedItems if type(item).__name__ == "RectROI"]
    assert len(rois) == len(rects)
    assert tb.list.count() == len(rects)
    # detected boxes are found again by the export itself: not user rectangles
    assert tb.export_rectangles() == []


def test_rectangle_editing_reaches_the_export(qtbot, window, tmp_path) -> None:
    src = Path(get_testdata_file("CT_small.dcm"))
    _show(qtbot, window, src)
    tb = window.textboxes
    tb.add_rectangle(10, 12, 40, 30)
    tb.add_rectangle(60, 60, 70, 70)
    assert tb.export_rectangles() == [(10, 12, 30, 18), (60, 60, 10, 10)]
    tb.move_rectangle(0, 20, 22)  # drag the first one (through its ROI)
    tb.list.setCurrentRow(1)
    tb.delete_selected()
    rects = tb.export_rectangles()
    assert rects == [(20, 22, 30, 18)]

    dlg = window.export_dialog()
    assert "1 rectangle" in dlg.rect_label.text()
    dlg.dest.setText(str(tmp_path / "out"))
    dlg.burned.setCurrentText("off")
    dlg.workers.setValue(1)
    cfg = dlg.configs()[0]
    assert list(cfg.rectangles) == rects and cfg.privacy == window.privacy.p
    dlg.privacy.setValue(0)
    with qtbot.waitSignal(dlg.exportFinished, timeout=120000) as done:
        dlg.start()
    outcome = done.args[0]
    assert outcome.total("exported") == 1, dlg.summary.toPlainText()
    written = [p for p in (tmp_path / "out").rglob("*") if p.is_file() and p.suffix.lower() == ".dcm"]
    assert len(written) == 1
    out = pydicom.dcmread(written[0]).pixel_array
    orig = pydicom.dcmread(src).pixel_array
    x, y, w, h = rects[0]
    region = out[y : y + h, x : x + w]
    assert np.all(region == region.flat[0]) and not np.array_equal(region, orig[y : y + h, x : x + w])
    outside = np.ones(out.shape, bool)
    outside[y : y + h, x : x + w] = False
    np.testing.assert_array_equal(out[outside], orig[outside])
    dlg.close()
