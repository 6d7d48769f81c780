"""The viewer's state without Qt: real scans of pydicom's files, real decoding."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydicom.data import get_testdata_file

from medeid_gui.dicom.discover import discover
from medeid_gui.dicom.studies import SeriesNode, group
from medeid_gui.viewmodel.frames import FrameLoader, series_frames
from medeid_gui.viewmodel.pixel_method import SeriesMethod
from medeid_gui.viewmodel.state import ViewerModel
from medeid_gui.viewmodel.window_level import WindowLevel


def _series(*names: str) -> list[SeriesNode]:
    disc = discover([Path(get_testdata_file(n)) for n in names])
    return [s for patient in group(disc.instances) for study in patient.studies for s in study.series]


def _load(model: ViewerModel, i: int) -> WindowLevel:
    ref = model.select(i)
    assert ref is not None
    return model.loaded(FrameLoader().load(ref))


def test_a_series_starts_in_its_middle_and_steps_stay_inside() -> None:
    (mr,) = _series("emri_small.dcm")  # one instance, 10 frames
    model = ViewerModel()
    seen: list[SeriesNode | None] = []
    model.series_changed.connect(seen.append)
    first = model.set_series(mr)
    assert seen == [mr] and len(model.frames) == 10
    assert first is not None and first.index == 5 == model.index
    assert [f.index for f in model.frames] == list(range(10))
    assert model.stepped(3) == 8 and model.stepped(100) == 9 and model.stepped(-100) == 0
    assert model.select(10) is None and model.index == 5  # out of range: ignored
    assert model.select(2) is not None and model.index == 2


def test_a_series_without_pixels_has_no_frames() -> None:
    (plan,) = _series("rtplan.dcm")
    model = ViewerModel()
    assert model.set_series(plan) is None
    assert model.frames == [] and model.stepped(1) is None and series_frames(None) == []


def test_loaded_frame_gets_the_files_window_and_presets() -> None:
    (ct,) = _series("CT_small.dcm")
    model = ViewerModel()
    model.set_series(ct)
    frames: list[object] = []
    model.frame_loaded.connect(frames.append)
    use = _load(model, 0)
    assert len(frames) == 1 and model.current is frames[0]
    lf = model.current
    assert lf is not None and model.is_current(lf.ref.key) and not model.is_current(("other", 0))
    if lf.window is not None:
        assert use == WindowLevel.of(lf.window)
    else:
        assert use == WindowLevel.from_data(lf.frame)
    assert model.windows[0] == use and model.preset(0) == use and model.preset(len(model.windows)) is None


def test_adjusted_window_is_kept_within_a_series_only() -> None:
    mr, = _series("emri_small.dcm")
    ct, = _series("CT_small.dcm")
    model = ViewerModel()
    model.set_series(mr)
    default = _load(model, 0)
    changes: list[WindowLevel] = []
    model.window_changed.connect(changes.append)
    mine = WindowLevel(default.center + 10, default.width * 2)
    model.set_window(mine)
    model.set_window(mine)  # unchanged: no second notification
    assert changes == [mine]
    assert _load(model, 1) == mine  # next slice of the same series: the user's window stays
    model.set_series(ct)
    ct_default = _load(model, 0)
    assert ct_default != mine and model.window == ct_default  # another series: its own default
    model.set_window(mine)
    model.clear_frame()  # nothing on screen (a frame that cannot be decoded)
    assert _load(model, 0) == ct_default


def test_privacy_is_remembered_per_series_and_reaches_the_export_choices() -> None:
    ct, = _series("CT_small.dcm")
    mr, = _series("MR_small.dcm")
    # the plumbing of levels, for series the gate admits (the domain check: test_pixel_method.py)
    model = ViewerModel(privacy=0.5, gate=lambda _header: SeriesMethod(allowed=True))
    levels: list[float] = []
    model.privacy_changed.connect(levels.append)
    model.set_privacy(0.2)  # no frame shown yet: a level, but for no series
    assert model.series_privacy == {}
    for series, level in ((ct, 0.3), (mr, 0.7)):
        model.set_series(series)
        _load(model, 0)
        model.set_privacy(level)
    assert levels == [0.2, 0.0, 0.3, 0.0, 0.7]  # each series opens at 0
    assert model.series_privacy == {ct.series_uid: 0.3, mr.series_uid: 0.7}
    model.set_inputs([Path("a"), Path("b")])
    choices = model.export_choices([(1, 2, 3, 4)])
    assert choices.inputs == [Path("a"), Path("b")] and choices.privacy == 0.7
    assert choices.series_privacy == {ct.series_uid: 0.3, mr.series_uid: 0.7}
    assert choices.rectangles == [(1, 2, 3, 4)] and choices.method_runs
    choices.series_privacy.clear()  # a copy: the dialog cannot change the viewer's levels
    assert len(model.series_privacy) == 2
    with pytest.raises(ValueError, match="privacy"):
        model.set_privacy(1.5)
    assert model.privacy == 0.7


def test_method_runs_only_with_a_level_above_zero() -> None:
    model = ViewerModel(privacy=0.0)
    assert not model.export_choices().method_runs
    model.series_privacy["1.2.3"] = 0.4
    assert model.export_choices().method_runs


def test_frames_decode_to_what_the_dicom_layer_gives() -> None:
    from medeid_gui.dicom.frames import FrameSource

    (mr,) = _series("emri_small.dcm")
    ref = series_frames(mr)[7]
    lf = FrameLoader(capacity=1).load(ref)
    assert lf.frame.dtype == np.float32 and lf.frame.flags["C_CONTIGUOUS"] and lf.n_frames == 10
    np.testing.assert_array_equal(lf.frame, FrameSource(ref.path).frame(7))
    assert ref.series_uid == mr.series_uid and "PixelData" not in lf.header
