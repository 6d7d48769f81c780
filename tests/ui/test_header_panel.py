"""Header panel: the describe() list for the current image follows profile and option edits."""

from __future__ import annotations

from pathlib import Path

from pydicom.data import get_testdata_file

from medeid_gui.deid.options import PRESETS, Option
from medeid_gui.ui.header_panel import SEARCH_ROLE


def _row(panel, keyword: str):
    for a in panel.model.actions:
        if a.keyword == keyword and a.path == keyword:
            return a
    raise AssertionError(f"{keyword} not in the describe list")


def test_header_panel_reflects_option_changes(qtbot, window) -> None:
    panel = window.header_panel
    with qtbot.waitSignal(panel.described, timeout=30000):
        with qtbot.waitSignal(window.scanFinished, timeout=30000):
            window.open_paths([Path(get_testdata_file("CT_small.dcm"))])
    assert panel.profile.currentText() == "basic"
    date = _row(panel, "StudyDate")
    assert date.old == "20040119" and date.new == "" and date.action in ("Z", "X", "D")
    name = _row(panel, "PatientName")
    assert name.old and name.new != name.old

    # an option ticked by the user re-runs describe at once; the profile becomes "custom"
    with qtbot.waitSignal(panel.described, timeout=30000):
        panel.set_option(Option.RETAIN_LONGITUDINAL_FULL_DATES, True)
    date = _row(panel, "StudyDate")
    assert date.action == "K" and date.new == date.old == "20040119"
    assert panel.profile.currentText() == "custom"
    assert window.settings.options == ["retain-longitudinal-full-dates"]

    # a preset sets its options; the exclusive date options never both end up ticked
    with qtbot.waitSignal(panel.described, timeout=30000):
        panel.profile.setCurrentText("research")
    assert panel.options() == set(PRESETS["research"])
    date = _row(panel, "StudyDate")
    assert date.new not in ("", date.old)  # shifted by the keyed per-patient offset

    # the filter narrows the table to matching rows
    panel.filter.setText("StudyDate")
    assert 1 <= panel.visible_rows() < len(panel.model.actions)
    for r in range(panel.visible_rows()):
        assert "studydate" in panel.proxy.index(r, 0).data(SEARCH_ROLE).lower()
    panel.filter.setText("(0010,0010)")
    assert panel.visible_rows() == 1 and panel.proxy.index(0, 1).data() == "Patient's Name"

    # the export dialog starts from what the panel shows
    dlg = window.export_dialog()
    cfg = dlg.configs()[0]
    assert cfg.deid.effective_options() == frozenset(PRESETS["research"])
    dlg.close()
