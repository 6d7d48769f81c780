"""The privacy slider per series, with the installed models' domains (the shipped weights).

A CT series outside every domain: slider off at 0 with its one line of reason, the right pane
the original pixels, the risk not assessed.  A frontal chest CR (RG1, MONOCHROME1) inside: slider
on, the level remembered per series, the model's output shown in the file's own sense.
"""

from __future__ import annotations

from pathlib import Path

import corpora
import numpy as np
import pytest
from pydicom.data import get_testdata_file


def _open(qtbot, win, path: Path) -> None:
    with qtbot.waitSignal(win.frameShown, timeout=60000):
        win.open_paths([path])


@pytest.mark.parametrize("name", ["693_UNCR.dcm", "ctbrain1.dcm"])
def test_a_ct_series_shows_the_slider_off_with_its_reason(qtbot, window, name) -> None:
    path = corpora.deid_data_file("humans", name) if name == "ctbrain1.dcm" else Path(get_testdata_file(name))
    _open(qtbot, window, path)
    panel = window.privacy
    assert not panel.slider.isEnabled() and panel.percent == 0
    line = panel.reason.text()
    assert panel.reason.isVisibleTo(window) and line.startswith("No pixel privacy model for CT")
    assert "header and burned-in text are still de-identified" in line and "medeid ml train" in line
    assert panel.slider.toolTip() == line
    assert panel.risk.text() == "re-id risk: not assessed"
    # the keys and the menu cannot move it either, and the right pane is the original, unchanged
    window.step_privacy(5)
    window.set_privacy(1.0)
    assert panel.percent == 0 and window.model.privacy == 0.0
    np.testing.assert_array_equal(window.viewer.result_frame, window.viewer.original_frame)
    assert "unchanged" in window.viewer.deid.caption.text()


def test_rg1_has_the_slider_on_and_each_series_keeps_its_level(qtbot, window) -> None:
    rg1, ct = Path(get_testdata_file("RG1_UNCR.dcm")), Path(get_testdata_file("693_UNCR.dcm"))
    _open(qtbot, window, rg1)
    panel = window.privacy
    assert panel.percent == 0 and panel.reason.text() == "" and not panel.reason.isVisibleTo(window)
    qtbot.waitUntil(panel.slider.isEnabled, timeout=120000)  # once the engine has loaded
    assert panel.risk.text() == "re-id risk: high"  # p = 0: the original, as identifiable as ever
    panel.set_percent(50)
    assert window.model.privacy == 0.5 and panel.risk.text() in ("re-id risk: medium", "re-id risk: high")
    assert "AUC" in panel.risk.toolTip()
    panel.set_percent(100)
    assert panel.risk.text() == "re-id risk: low"
    _open(qtbot, window, ct)
    assert panel.percent == 0 and not panel.slider.isEnabled()
    _open(qtbot, window, rg1)
    assert panel.percent == 100 and panel.slider.isEnabled() and window.model.privacy == 1.0


def test_rg1_result_is_shown_in_the_files_own_sense(qtbot, window) -> None:
    """MONOCHROME1: the model works on the negated image; what comes back is negated again, so the
    unblocked pixels equal the file's values bit for bit and both panes share one display."""
    _open(qtbot, window, Path(get_testdata_file("RG1_UNCR.dcm")))
    qtbot.waitUntil(window.privacy.slider.isEnabled, timeout=120000)
    assert window.model.current.invert and window.viewer.invert
    with qtbot.waitSignal(window.resultShown, timeout=180000,
                          check_params_cb=lambda r: abs(r.privacy - 0.5) < 1e-9) as got:
        window.privacy.set_percent(50)
    res = got.args[0]
    orig, out, mask = window.viewer.original_frame, window.viewer.result_frame, np.asarray(res.mask)
    assert out.shape == orig.shape and 0.3 < mask.mean() < 0.7
    np.testing.assert_array_equal(out[~mask], orig[~mask])
    lo, hi = np.percentile(orig, (1, 99))
    assert lo - 0.05 * (hi - lo) <= np.median(out[mask]) <= hi + 0.05 * (hi - lo)
    # a real radiograph is far from the generated cohort the shipped weights learned: the warning
    # beside the slider comes from the shipped familiarity statistics, in the model's sense
    qtbot.waitUntil(lambda: "unfamiliar image" in window.privacy.familiar.text(), timeout=120000)
    assert "× the threshold" in window.privacy.familiar.toolTip()
