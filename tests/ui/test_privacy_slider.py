"""Privacy slider → inference engine → de-identified view; latest wins; readouts."""

from __future__ import annotations

import numpy as np

from medeid_gui.ml.deidentify import deidentify
from medeid_gui.ui.viewer import heat_rgba


def _result_at(qtbot, win, percent: int, timeout: int = 60000):
    with qtbot.waitSignal(
        win.resultShown, timeout=timeout, check_params_cb=lambda r: abs(r.p - percent / 100) < 1e-9
    ) as b:
        win.privacy.set_percent(percent)
    return b.args[0]


def test_slider_updates_view_with_the_methods_output(qtbot, engine_window, method_model) -> None:
    win = engine_window
    orig = win.viewer.original_frame.copy()
    res = _result_at(qtbot, win, 60)
    expect, idmap, mask = deidentify(orig, 0.6, model=method_model)
    np.testing.assert_allclose(win.viewer.result_frame, expect, rtol=0, atol=1e-3)
    assert abs(mask.mean() - 0.6) < 0.02 and np.array_equal(res.mask, mask)
    assert not np.array_equal(win.viewer.result_frame, orig)
    assert win.privacy.latency.text().endswith("ms")
    assert win.privacy.device.text().startswith("device: cpu")
    # 0 % is the original, bit for bit
    _result_at(qtbot, win, 0)
    np.testing.assert_array_equal(win.viewer.result_frame, orig)
    # the readouts follow (computed in a worker)
    qtbot.waitUntil(lambda: "semantic fidelity: 1.00" in win.privacy.fidelity.text(), timeout=30000)
    # a gate without a model's measured curve: the risk is not assessed, never a number
    assert win.privacy.risk.text() == "re-id risk: not assessed" and not win.privacy.risk.isEnabled()
    assert win.privacy.familiar.text() == ""  # untrained weights carry no familiarity statistics


def test_stale_results_are_dropped(qtbot, engine_window) -> None:
    win = engine_window
    shown: list[float] = []
    win.resultShown.connect(lambda r: shown.append(round(r.p, 2)))
    with qtbot.waitSignal(win.resultShown, timeout=60000, check_params_cb=lambda r: abs(r.p - 0.9) < 1e-9):
        for v in range(10, 91, 10):  # a fast drag: no event processing between positions
            win.privacy.set_percent(v)
    qtbot.wait(300)
    assert shown[-1] == 0.9
    assert len(shown) < 9, f"superseded requests must not be shown: {shown}"
    assert win.engine.engine.dropped >= 1
    # a result overtaken on its way to the main thread is dropped by the adapter too
    old_token = win.engine.latest_token - 1
    before = (len(shown), win.engine.dropped_on_arrival)
    win.engine._deliver.emit(old_token, object(), 0.0, None)
    qtbot.wait(50)
    assert len(shown) == before[0]
    assert win.engine.dropped_on_arrival == before[1] + 1


def test_overlays_and_difference_view(qtbot, engine_window) -> None:
    win = engine_window
    res = _result_at(qtbot, win, 40)
    win.act_idmap.setChecked(True)
    assert win.viewer.original.overlay.isVisible()
    np.testing.assert_array_equal(win.viewer.original.overlay.image, heat_rgba(res.identity_map))
    win.act_mask.setChecked(True)
    assert win.viewer.deid.mask.isVisible()
    tint = win.viewer.deid.mask.image
    assert (tint[..., 3] > 0).mean() == np.asarray(res.mask)[
        :: max(1, res.mask.shape[0] // 256), :: max(1, res.mask.shape[1] // 256)
    ].mean()
    win.act_diff.setChecked(True)
    d = win.viewer.deid.image.image
    np.testing.assert_allclose(d, win.viewer.result_frame - win.viewer.original_frame)
    assert np.all(d[~np.asarray(res.mask)] == 0)  # unblocked pixels are copied exactly
    win.act_diff.setChecked(False)
    np.testing.assert_array_equal(win.viewer.deid.image.image, win.viewer.result_frame)


def test_event_loop_never_stalls_while_dragging(qtbot, engine_window) -> None:
    """Drag the slider across its range; a 5 ms heartbeat stays on time while results are computed."""
    import time

    from PySide6.QtCore import QTimer

    win = engine_window
    shown: list[float] = []
    win.resultShown.connect(lambda r: shown.append(r.p))
    gaps: list[float] = []
    last = [time.perf_counter()]

    def beat() -> None:
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    hb = QTimer(win)  # owned by the window: nothing outlives it
    hb.setInterval(5)
    hb.timeout.connect(beat)
    positions = list(range(0, 101, 2)) + list(range(100, -1, -4))
    step = QTimer(win)
    step.setInterval(15)

    def move() -> None:
        if positions:
            win.privacy.slider.setValue(positions.pop(0))
        else:
            step.stop()

    step.timeout.connect(move)
    hb.start()
    step.start()
    # keep beating until the drag is over and the last result (p = 0) has been drawn
    qtbot.waitUntil(lambda: bool(not positions and shown and shown[-1] == 0.0 and not win.privacy.is_busy),
                    timeout=60000)
    qtbot.wait(200)
    hb.stop()
    assert len(gaps) > 50
    # Inference on the GUI thread would stall at every one of the ~75 slider steps; a loaded CI
    # machine may deschedule the process once or twice.  So: nearly every beat on time, and no
    # stall anywhere near one inference's length.
    late = sorted(gaps[1:])
    p98 = late[int(0.98 * (len(late) - 1))]
    assert p98 < 0.050, f"event loop late by {p98 * 1000:.0f} ms at the 98th percentile"
    assert late[-1] < 0.250, f"event loop stalled for {late[-1] * 1000:.0f} ms"


def test_risk_reads_in_words_with_the_number_in_the_tooltip(qtbot) -> None:
    from medeid_gui.ml.familiarity import Familiarity
    from medeid_gui.ml.model_registry import installed_models
    from medeid_gui.ml.risk import NOT_ASSESSED
    from medeid_gui.ui.privacy_panel import PrivacyPanel

    (shipped,) = [m for m in installed_models() if m.shipped]
    panel = PrivacyPanel()
    qtbot.addWidget(panel)
    panel.set_risk(shipped.risk.readout(0.0))
    assert panel.risk.text() == "re-id risk: high" and "AUC 0.98" in panel.risk.toolTip()
    panel.set_risk(shipped.risk.readout(1.0))
    auc1 = shipped.risk.auc[list(shipped.risk.levels).index(1.0)]  # the committed evaluation's
    assert auc1 < 0.65  # "low" by the readout's own rule
    assert panel.risk.text() == "re-id risk: low" and f"AUC {auc1:.2f}" in panel.risk.toolTip()
    panel.set_risk(NOT_ASSESSED)
    assert panel.risk.text() == "re-id risk: not assessed" and "never measured" in panel.risk.toolTip()
    panel.set_familiarity(Familiarity(distance=30.0, threshold=10.0, unfamiliar=True))
    assert "unfamiliar image: findings may not be kept" in panel.familiar.text()
    assert "3.0 × the threshold" in panel.familiar.toolTip()
    panel.set_familiarity(Familiarity(distance=5.0, threshold=10.0, unfamiliar=False))
    assert panel.familiar.text() == ""
