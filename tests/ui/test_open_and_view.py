"""Opening studies (demo, files, broken input) and looking at them: real files, real decoding."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydicom.data import get_testdata_file
from ui_helpers import error_dialogs

from medeid_gui.dicom.frames import FrameSource


def _open(qtbot, win, paths, timeout=30000):
    with qtbot.waitSignal(win.scanFinished, timeout=timeout) as blocker:
        win.open_paths([Path(p) for p in paths])
    return blocker.args[0]


def test_open_demo_shows_studies_and_first_image(qtbot, window, close_dialogs) -> None:
    from medeid_gui.ui.main_window import demo_paths

    paths = demo_paths()
    assert any(p.name == "CT_small.dcm" for p in paths)
    with qtbot.waitSignal(window.frameShown, timeout=30000) as shown:
        with qtbot.waitSignal(window.scanFinished, timeout=30000) as scanned:
            window.open_demo()
    result = scanned.args[0]
    assert result.n_instances >= 3
    items = window.browser.series_items()
    assert len(items) >= 3
    modalities = {it.text(2) for it in items}
    assert {"CT", "MR"} <= modalities
    from medeid_gui._resources import resource

    if any(resource("demo").rglob("*.dcm")):  # the generated demo cohort (chest radiographs)
        assert "DX" in modalities
    lf = shown.args[0]
    # what is on screen is exactly what the dicom layer decodes for that frame
    expect = FrameSource(lf.ref.path).frame(lf.ref.index)
    np.testing.assert_array_equal(window.viewer.original.image.image, expect)
    assert window.viewer.original.image.image.flags["C_CONTIGUOUS"]
    assert window.viewer.original.image.image.dtype == np.float32
    lo, hi = window.viewer.original.image.getLevels()
    assert (lo, hi) == window.viewer.window.levels
    # thumbnails arrive from the worker
    qtbot.waitUntil(lambda: any(not it.icon(0).isNull() for it in items), timeout=20000)
    assert window.act_export.isEnabled()


def test_multiframe_navigation_and_window_presets(qtbot, window) -> None:
    path = get_testdata_file("emri_small.dcm")  # 10-frame MR
    _open(qtbot, window, [path])
    assert window.slice_slider.maximum() == 9
    with qtbot.waitSignal(window.frameShown, timeout=10000) as shown:
        window.slice_slider.setValue(2)
    assert shown.args[0].ref.index == 2
    with qtbot.waitSignal(window.frameShown, timeout=10000) as shown:
        window.step_slice(1)
    assert shown.args[0].ref.index == 3
    np.testing.assert_array_equal(window.viewer.original_frame, FrameSource(path).frame(3))
    # presets: 0 is the file default; a manual change then "0" restores it
    default = window.viewer.window
    window.viewer._drag_window(120.0, -40.0)  # what a right-button drag does
    assert window.viewer.window != default
    assert tuple(map(float, window.viewer.original.image.getLevels())) == window.viewer.window.levels
    window.apply_window_preset(0)
    assert window.viewer.window == default


def test_broken_file_gives_error_dialog_with_details(qtbot, window, tmp_path, close_dialogs) -> None:
    bad = tmp_path / "broken.dcm"
    bad.write_bytes(b"\0" * 128 + b"DICM" + b"\x02\x00\x10\x00UI" + b"\xff\xff" + b"garbage")
    res = _open(qtbot, window, [bad])
    assert res.n_instances == 0 and len(res.rejected) == 1
    dialogs = error_dialogs()
    assert dialogs, "a broken file must produce an error dialog"
    assert dialogs[-1].windowTitle() == "No DICOM images found"
    assert "broken.dcm" in dialogs[-1].text()
    assert "broken.dcm" in dialogs[-1].detailedText()


def test_undecodable_pixels_give_error_dialog(qtbot, window, tmp_path, close_dialogs) -> None:
    """A header discovery accepts, a JPEG 2000 codestream no decoder can read."""
    src = Path(get_testdata_file("MR_small_jp2klossless.dcm"))
    data = bytearray(src.read_bytes())
    soc = data.find(b"\xff\x4f\xff\x51")  # start of codestream + SIZ marker
    assert soc > 0
    data[soc : soc + 64] = b"\0" * 64
    bad = tmp_path / "corrupt_j2k.dcm"
    bad.write_bytes(bytes(data))
    res = _open(qtbot, window, [bad])
    assert res.n_instances == 1  # the header is fine; the failure comes when the pixels are shown
    qtbot.waitUntil(lambda: bool(error_dialogs()), timeout=10000)
    d = error_dialogs()[-1]
    assert d.windowTitle() == "Cannot show image"
    assert "corrupt_j2k.dcm" in d.text()
    assert "decode" in d.detailedText()
    assert window.viewer.original_frame is None


def test_scan_can_be_cancelled(qtbot, window) -> None:
    import pydicom.data

    root = Path(pydicom.data.__file__).parent / "test_files"
    with qtbot.waitCallback(timeout=30000) as cb:
        job = window.open_paths([root])
        job.cancelled.connect(cb)
        job.cancel()
    assert window._scan is None
    assert not window.scan_bar.isVisible()


def test_recent_items_and_settings_persist(qtbot, window, settings) -> None:
    path = Path(get_testdata_file("CT_small.dcm"))
    _open(qtbot, window, [path])
    assert settings.recent()[0] == str(path)
    assert window.recent_menu.isEnabled()
    assert settings.last_open_dir == str(path.parent)
    window.privacy.set_percent(35)  # CT: outside the domain, the slider stays at 0
    assert window.privacy.percent == 0
    window.close()
    from medeid_gui.ui.settings import Settings

    again = Settings(settings.path)
    assert again.privacy == 50  # no level is stored: every series opens at 0 (issue #14)
    assert again.geometry() is not None


def test_open_dicomdir_reads_the_referenced_instances(qtbot, window) -> None:
    import pydicom.data

    dicomdir = Path(pydicom.data.__file__).parent / "test_files" / "dicomdirtests" / "DICOMDIR"
    res = _open(qtbot, window, [dicomdir])
    assert res.n_instances > 10
    assert not any(r.path.name == "DICOMDIR" for r in res.rejected)  # an index, not a failure
    assert len(window.browser.series_items()) >= 3
    assert window.settings.recent()[0] == str(dicomdir)


def test_drag_and_drop_opens_the_dropped_files(qtbot, window) -> None:
    from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
    from PySide6.QtGui import QDropEvent

    path = Path(get_testdata_file("MR_small.dcm"))
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    ev = QDropEvent(
        QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    with qtbot.waitSignal(window.scanFinished, timeout=30000) as b:
        window.dropEvent(ev)
    assert b.args[0].n_instances == 1
    assert [it.text(2) for it in window.browser.series_items()] == ["MR"]
