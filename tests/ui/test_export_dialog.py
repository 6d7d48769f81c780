"""Export dialog: runs export.pipeline.run_export in a worker with progress, cancel and a summary."""

from __future__ import annotations

import shutil
from pathlib import Path

import pydicom.data

from medeid_gui.ui.export_dialog import ExportDialog, plan_runs

TEST_FILES = Path(pydicom.data.__file__).parent / "test_files"
SMALL = ["CT_small.dcm", "MR_small.dcm", "JPEG2000.dcm", "rtplan.dcm", "SC_rgb_small_odd.dcm"]


def _dialog(qtbot, settings, inputs, out) -> ExportDialog:
    dlg = ExportDialog(None, inputs=inputs, settings=settings, privacy=0.0)
    qtbot.addWidget(dlg)
    dlg.dest.setText(str(out))
    dlg.burned.setCurrentText("off")
    dlg.workers.setValue(1)
    dlg.show()
    return dlg


def test_export_progress_and_summary(qtbot, settings, tmp_path) -> None:
    inp = tmp_path / "in"
    inp.mkdir()
    for name in SMALL:
        shutil.copy(TEST_FILES / name, inp / name)
    (inp / "notes.txt").write_text("not DICOM")
    dlg = _dialog(qtbot, settings, [inp], tmp_path / "out")
    seen: list[tuple[str, int, int]] = []
    assert dlg.job is None
    with qtbot.waitSignal(dlg.exportFinished, timeout=120000) as done:
        job = dlg.start()
        job.progress.connect(lambda ev, k, n: seen.append((ev.phase, ev.done, ev.total)))
    outcome = done.args[0]
    assert not outcome.cancelled
    assert outcome.total("exported") == len(SMALL)
    assert outcome.total("skipped") == 1  # notes.txt, with its reason in the manifest
    assert any(ph == "export" and total == len(SMALL) for ph, _d, total in seen), seen
    assert dlg.bar.value() == dlg.bar.maximum()
    assert "Finished" in dlg.status.text() and f"{len(SMALL)} exported" in dlg.status.text()
    assert dlg.summary.isVisible() and "manifest" in dlg.summary.toPlainText()
    assert dlg.open_btn.isEnabled()
    assert len([p for p in (tmp_path / "out").rglob("*.dcm")]) == len(SMALL)


def test_export_can_be_cancelled(qtbot, settings, tmp_path) -> None:
    inp = tmp_path / "in"
    inp.mkdir()
    for i in range(40):  # distinct copies: the same instance twice would count as a duplicate
        ds = pydicom.dcmread(TEST_FILES / "CT_small.dcm")
        ds.SOPInstanceUID = f"{ds.SOPInstanceUID}.{i + 1}"
        ds.save_as(inp / f"ct{i:02d}.dcm")
    dlg = _dialog(qtbot, settings, [inp], tmp_path / "out")
    started = []

    def on_progress(ev, k, n) -> None:
        if ev.phase == "export" and ev.done >= 1 and not started:
            started.append(ev.done)
            dlg.cancel()  # what the Cancel button does

    with qtbot.waitSignal(dlg.exportFinished, timeout=120000) as done:
        dlg.start().progress.connect(on_progress)
    outcome = done.args[0]
    assert started
    assert outcome.cancelled
    assert 1 <= outcome.total("exported") < 40
    assert dlg.status.text().startswith("Cancelled")
    assert dlg.cancel_btn.text() == "Close"


def test_export_error_is_shown(qtbot, settings, tmp_path, close_dialogs) -> None:
    from ui_helpers import error_dialogs

    inp = tmp_path / "in"
    inp.mkdir()
    shutil.copy(TEST_FILES / "CT_small.dcm", inp / "a.dcm")
    dlg = _dialog(qtbot, settings, [inp], inp / "inside")  # output inside the input: refused
    with qtbot.waitSignal(dlg.exportFinished, timeout=30000):
        dlg.start()
    d = error_dialogs()[-1]
    assert d.windowTitle() == "Export failed" and "inside" in d.text()
    assert dlg.start_btn.isEnabled()


def test_several_opened_items_export_into_subfolders(tmp_path) -> None:
    a, b = tmp_path / "a.dcm", tmp_path / "folder"
    a.write_bytes(b"")
    b.mkdir()
    runs = plan_runs([a, b], tmp_path / "out")
    assert runs == [(a, tmp_path / "out" / "01-a"), (b, tmp_path / "out" / "02-folder")]
    assert plan_runs([b], tmp_path / "out") == [(b, tmp_path / "out")]


def test_levels_set_per_series_reach_the_export(qtbot, window, tmp_path) -> None:
    """The slider level last set on each series becomes that series' level in the export when
    the user ticks "per series"; unticked, every image gets the dialog's single level."""
    import pydicom
    from ui_helpers import admit_every_series

    window.model.gate = admit_every_series  # CT and MR are outside the shipped model's domain
    ct, mr = TEST_FILES / "CT_small.dcm", TEST_FILES / "MR_small.dcm"
    for path, percent in ((ct, 30), (mr, 70)):
        with qtbot.waitSignal(window.frameShown, timeout=30000):
            window.open_paths([path])
        window.privacy.set_percent(percent)
    ct_uid = str(pydicom.dcmread(ct, stop_before_pixels=True).SeriesInstanceUID)
    mr_uid = str(pydicom.dcmread(mr, stop_before_pixels=True).SeriesInstanceUID)
    assert window.series_privacy == {ct_uid: 0.30, mr_uid: 0.70}
    dlg = window.export_dialog()
    dlg.dest.setText(str(tmp_path / "out"))
    assert dlg.per_series.isEnabled() and "2 series" in dlg.per_series.text()
    assert dlg.configs()[0].privacy_by_series is None  # single level unless asked
    dlg.per_series.setChecked(True)
    cfg = dlg.configs()[0]
    assert cfg.privacy_by_series == {ct_uid: 0.30, mr_uid: 0.70}
    assert cfg.privacy == 0.70  # the viewer's current level, for series never adjusted
    dlg.close()


def test_per_series_is_disabled_when_no_level_was_set(qtbot, settings, tmp_path) -> None:
    dlg = _dialog(qtbot, settings, [TEST_FILES / "CT_small.dcm"], tmp_path / "out")
    assert not dlg.per_series.isEnabled()
    assert dlg.configs()[0].privacy_by_series is None
