"""The held-out evaluation's plot without matplotlib (``lab.png_plot``, the installer bundle's
renderer): one panel per attacker and one for the tasks, lines where the figures are."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from medeid_gui.lab.png_plot import PANEL_H, PANEL_W, Panel, Series, save_panels


def _ink(img: np.ndarray, colour: tuple[int, int, int]) -> np.ndarray:
    return (img == np.array(colour, np.uint8)).all(-1)


def test_panels_side_by_side_with_the_lines_where_the_values_are(tmp_path: Path) -> None:
    blue = (31, 119, 180)
    panels = [Panel("attacker: thumb16 (AUC)", "privacy level p", ylim=(0.0, 1.0), hlines=[(0.5, "")],
                    series=[Series([0.0, 0.5, 1.0], [1.0, 1.0, 1.0], "method", width=3)]),
              Panel("tasks (% of originals)", "privacy level p",
                    series=[Series([0.0, 1.0], [100.0, float("nan")], "method: lung_dice")])]
    path = tmp_path / "plot.png"
    save_panels(panels, path)
    img = np.asarray(Image.open(path).convert("RGB"))
    assert img.shape == (PANEL_H, 2 * PANEL_W, 3)
    rows = np.nonzero(_ink(img[:, :PANEL_W], blue).sum(1) > 100)[0]
    assert rows.size and rows.max() - rows.min() <= 4  # AUC 1.0: one flat line at the panel's top
    assert rows.max() < PANEL_H // 4
    assert _ink(img[:, PANEL_W:], blue).any()  # the second panel's point (its NaN left out)
    again = tmp_path / "again.png"
    save_panels(panels, again)
    assert again.read_bytes() == path.read_bytes()
