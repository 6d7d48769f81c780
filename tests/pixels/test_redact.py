"""Rectangles, fill values and per-modality rules."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest
from corpora import deid_data_file

from medeid_gui.pixels.redact import Rect, fill_rects, fill_value, load_rules, parse_rectangle, rule_rects


def test_parse_rectangle_forms() -> None:
    assert parse_rectangle("10,20,30,40") == Rect(10, 20, 40, 60)
    assert parse_rectangle((0, 0, 5, 5)) == Rect(0, 0, 5, 5)
    assert parse_rectangle("10 20 30 40") == Rect(10, 20, 40, 60)
    for bad in ("1,2,3", "a,b,c,d", "-1,0,5,5", "0,0,0,5"):
        with pytest.raises(ValueError, match="rectangle"):
            parse_rectangle(bad)


def test_fill_all_frames_grey_and_colour() -> None:
    grey = np.arange(2 * 10 * 10, dtype=np.int16).reshape(2, 10, 10) + 5
    n = fill_rects(grey, [Rect(2, 3, 6, 5), Rect(-4, -4, 1, 1), Rect(50, 50, 60, 60)], fill_value(grey, "MONOCHROME2"))
    assert n == 8 + 1
    assert (grey[:, 3:5, 2:6] == 5).all() and (grey[:, 0, 0] == 5).all() and grey[1, 9, 9] == 204
    mono1 = np.full((1, 4, 4), 7, np.uint16)
    mono1[0, 0, 0] = 900
    assert fill_value(mono1, "MONOCHROME1") == 900
    rgb = np.full((3, 8, 8, 3), 200, np.uint8)
    fill_rects(rgb, [Rect(0, 0, 4, 2)], fill_value(rgb, "RGB"))
    assert (rgb[:, :2, :4] == 0).all() and (rgb[:, 2:] == 200).all()


def test_ultrasound_top_band_follows_regions() -> None:
    rules = load_rules()
    assert "US" in rules.text_modalities and "SR" in rules.non_image_modalities
    expected = {"GREYSCALE_IMAGE.dcm": 38, "RGB_IMAGE.dcm": 60, "ultrasound-multiframe.dcm": 30}
    for name, top in expected.items():
        ds = pydicom.dcmread(deid_data_file("ultrasounds", name), stop_before_pixels=True)
        (rect, reason), = rule_rects(ds, int(ds.Rows), int(ds.Columns), rules)
        assert rect == Rect(0, 0, int(ds.Columns), top) and reason == "rule:US:top_band"
    ds = pydicom.dcmread(deid_data_file("ultrasounds", "RGB_IMAGE.dcm"), stop_before_pixels=True)
    del ds.SequenceOfUltrasoundRegions
    (rect, _), = rule_rects(ds, 768, 1024, rules)
    assert rect.y1 == round(768 * 0.05)
    ds.Modality = "CT"
    assert rule_rects(ds, 768, 1024, rules) == []
