"""The view model's per-series pixel-method decision, levels per series, risk words, MONOCHROME1.

Without Qt; real files and the shipped models' declared domain.
"""

from __future__ import annotations

from pathlib import Path

import corpora
import numpy as np
import pytest
from pydicom.data import get_testdata_file

from medeid_gui.dicom.discover import discover
from medeid_gui.dicom.studies import SeriesNode, group
from medeid_gui.ml.domain import TRAIN_HINT
from medeid_gui.ml.risk import NOT_ASSESSED
from medeid_gui.viewmodel.frames import FrameLoader
from medeid_gui.viewmodel.pixel_method import from_model_sense, to_model_sense
from medeid_gui.viewmodel.state import ViewerModel


def _series(path: Path) -> SeriesNode:
    disc = discover([path])
    (series,) = [s for patient in group(disc.instances) for study in patient.studies for s in study.series]
    return series


def _rg1() -> SeriesNode:
    return _series(Path(get_testdata_file("RG1_UNCR.dcm")))


@pytest.mark.parametrize(
    ("path", "label"),
    [
        (lambda: Path(get_testdata_file("693_UNCR.dcm")), "CT"),
        (lambda: corpora.deid_data_file("humans", "ctbrain1.dcm"), "CT HEAD"),
        (lambda: Path(get_testdata_file("MR_small.dcm")), "MR"),
    ],
)
def test_outside_every_domain_the_slider_stays_at_zero_with_one_line_of_reason(path, label) -> None:
    model = ViewerModel()
    verdicts: list[object] = []
    model.method_changed.connect(verdicts.append)
    model.set_series(_series(path()))
    method = model.method
    assert verdicts == [method] and not method.allowed and method.label == label
    assert method.line.startswith(f"No pixel privacy model for {label} ")
    assert "header and burned-in text are still de-identified" in method.line
    assert method.line.endswith(TRAIN_HINT) and "\n" not in method.line
    assert model.privacy == 0.0
    with pytest.raises(ValueError, match="must stay 0"):
        model.set_privacy(0.5)
    model.set_privacy(0.0)  # 0 (the original pixels) is always allowed
    assert model.risk() == NOT_ASSESSED and model.risk().auc is None


def test_a_frontal_chest_radiograph_is_inside_and_its_risk_reads_in_words() -> None:
    model = ViewerModel()
    model.set_series(_rg1())
    assert model.method.allowed and model.method.line == ""
    assert model.method.model is not None and model.method.label == "CR CHEST PA"
    words, aucs = [], []
    for p in np.linspace(0, 1, 21):
        model.set_privacy(float(p))
        r = model.risk()
        words.append(r.word)
        aucs.append(r.auc)
        assert r.word in r.text and f"{r.auc:.2f}" in r.tooltip and "AUC" in r.tooltip
    assert all(b <= a for a, b in zip(aucs, aucs[1:])), aucs  # never riskier at a higher level
    assert words[0] == "high" and words[-1] == "low"


def test_every_series_opens_at_zero_or_at_the_level_last_set_for_it() -> None:
    rg1, ct = _rg1(), _series(Path(get_testdata_file("693_UNCR.dcm")))
    model = ViewerModel(privacy=0.5)  # a start level never reaches a series by itself
    levels: list[float] = []
    model.privacy_changed.connect(levels.append)
    model.set_series(rg1)
    assert model.privacy == 0.0
    model.loaded(FrameLoader().load(model.frames[0]))
    model.set_privacy(0.4)
    model.set_series(ct)
    assert model.privacy == 0.0 and not model.method.allowed
    model.set_series(rg1)
    assert model.privacy == 0.4 and model.method.allowed
    assert levels == [0.0, 0.4, 0.0, 0.4]
    assert model.series_privacy == {rg1.instances[0].series_uid: 0.4}


def test_monochrome1_is_handed_to_the_model_in_monochrome2_sense_and_back_exactly() -> None:
    rg1 = FrameLoader().load(_frame_of(_rg1()))
    mr = FrameLoader().load(_frame_of(_series(Path(get_testdata_file("MR_small.dcm")))))
    assert rg1.invert and not mr.invert  # FrameSource.invert_display of a MONOCHROME1 file
    seen = to_model_sense(rg1.frame, rg1.invert)
    # in MONOCHROME2 sense the lungs (air) are darker than the mediastinum and spine between them
    rows, cols = seen.shape
    band = seen[rows // 3: rows // 2]
    lungs = np.median(np.concatenate([band[:, cols // 5: cols // 3], band[:, 2 * cols // 3: 4 * cols // 5]], axis=1))
    middle = np.median(band[:, int(cols * 0.47): int(cols * 0.53)])
    assert lungs < middle
    back = from_model_sense(seen, rg1.invert)
    assert back.dtype == rg1.frame.dtype and np.array_equal(back, rg1.frame)
    assert to_model_sense(mr.frame, mr.invert) is mr.frame


def _frame_of(series: SeriesNode):
    from medeid_gui.viewmodel.frames import series_frames

    return series_frames(series)[0]
