"""The GUI names the PS3.15 options as the standard does and says in one line what each does.

Why: a privacy officer checks an export against PS3.15 Annex E, where the options are called
"Retain Safe Private Option", "Clean Descriptors Option", ...; the command-line identifiers
(``retain-safe-private``) mean nothing there. And the header panel can list every element's fate,
also those the table does not name, as ``medeid inspect`` does.
"""

from __future__ import annotations

from pathlib import Path

import pydicom
from pydicom.data import get_testdata_file

from medeid_gui.deid.actions import tag_str
from medeid_gui.deid.options import Option
from medeid_gui.deid.walk import NOT_LISTED
from medeid_gui.ui.header_panel import SEARCH_ROLE, HeaderPanel
from medeid_gui.ui.options_editor import OptionsEditor


def _assert_standard_names(editor: OptionsEditor) -> None:
    assert set(editor.option_boxes) == set(Option)
    for opt, cb in editor.option_boxes.items():
        assert cb.text() == opt.standard_name
        assert cb.text().endswith(" Option") and "-" not in cb.text()
        tip = cb.toolTip()
        assert "\n" not in tip, tip  # one line
        assert tip.lower().startswith(opt.summary.lower())
        assert f"--option {opt.cli_name}" in tip


def test_options_editor_shows_standard_names_and_summaries(qtbot) -> None:
    editor = OptionsEditor("research")
    qtbot.addWidget(editor)
    _assert_standard_names(editor)
    boxes = editor.option_boxes
    assert boxes[Option.RETAIN_SAFE_PRIVATE].text() == "Retain Safe Private Option"
    assert boxes[Option.CLEAN_DESCRIPTORS].text() == "Clean Descriptors Option"
    assert boxes[Option.RETAIN_LONGITUDINAL_MODIFIED_DATES].text() == (
        "Retain Longitudinal Temporal Information With Modified Dates Option")
    assert "keyed offset" in boxes[Option.RETAIN_LONGITUDINAL_MODIFIED_DATES].toolTip()
    assert "safe allowlist" in boxes[Option.RETAIN_SAFE_PRIVATE].toolTip()
    # the names changed, the behaviour did not: the research preset ticks its three options
    ticked = {o for o, cb in boxes.items() if cb.isChecked()}
    assert ticked == {Option.RETAIN_LONGITUDINAL_MODIFIED_DATES,
                      Option.RETAIN_PATIENT_CHARACTERISTICS, Option.RETAIN_DEVICE_IDENTITY}


def test_export_dialog_and_header_panel_use_the_standard_names(qtbot, settings) -> None:
    from medeid_gui.ui.export_dialog import ExportDialog

    dlg = ExportDialog(None, inputs=[Path(get_testdata_file("CT_small.dcm"))], settings=settings)
    qtbot.addWidget(dlg)
    _assert_standard_names(dlg.editor)
    panel = HeaderPanel(settings)
    qtbot.addWidget(panel)
    _assert_standard_names(panel.editor)
    # the settings file still stores the stable CLI identifiers
    panel.set_option(Option.CLEAN_DESCRIPTORS, True)
    assert settings.options == ["clean-descriptors"]
    panel.shutdown()


def test_header_panel_lists_every_elements_fate(qtbot, settings) -> None:
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    panel = HeaderPanel(settings)
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.described, timeout=30000):
        panel.set_dataset(ds)
    changed = list(panel.model.actions)
    assert changed and all(NOT_LISTED not in a.reason for a in changed)
    assert "Rows" not in {a.keyword for a in changed}  # kept silently by default

    with qtbot.waitSignal(panel.described, timeout=30000):
        panel.show_kept.setChecked(True)
    every = panel.model.actions
    assert len(every) > len(changed)
    rows = [a for a in every if a.path == "Rows"]
    assert len(rows) == 1 and rows[0].action == "K" and rows[0].reason.startswith(NOT_LISTED)
    assert rows[0].old == rows[0].new == str(ds.Rows)
    # every top-level element of the file has a row (sequences once, their items below them)
    top = {a.tag for a in every if "." not in a.path and "[" not in a.path}
    assert {tag_str(e.tag) for e in ds} <= top
    assert "elements" in panel.summary.text()
    # the reason is searchable and shown in the tooltip
    panel.filter.setText("not in Table E.1-1")
    assert panel.visible_rows() >= 10
    for r in range(panel.visible_rows()):
        assert NOT_LISTED in panel.proxy.index(r, 0).data(SEARCH_ROLE)
        assert NOT_LISTED in panel.proxy.index(r, 2).data(0x03)  # ToolTipRole
    panel.shutdown()
