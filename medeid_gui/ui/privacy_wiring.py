"""The main window's privacy side: slider -> engine -> right pane, gated per series; readouts.

Why a mixin of its own: these are the paths by which pixels change on screen, and each one passes
the view model's per-series verdict (``ViewerModel.method``): outside every model's domain the
engine is never asked, the right pane shows the original pixels, and the panel says why.  The
model sees MONOCHROME1 images negated (MONOCHROME2 sense) and its output is negated back before
it is shown, so the viewer's inverted display applies to both panes alike.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QMainWindow

from medeid_gui.ml.privacy import Privacy, from_percent
from medeid_gui.viewmodel.pixel_method import NO_IMAGE, SeriesMethod, from_model_sense, to_model_sense

if TYPE_CHECKING:
    from PySide6.QtCore import QTimer

    from medeid_gui.ml.familiarity import Familiarity
    from medeid_gui.ml.model import MedeidModel
    from medeid_gui.viewmodel.frames import LoadedFrame
    from medeid_gui.viewmodel.state import ViewerModel

    from .engine_adapter import EngineAdapter, ImageKey, PrivacyResult
    from .privacy_panel import PrivacyPanel
    from .viewer import SideBySideViewer

#: the right pane's caption while the pixels are left as they are
UNCHANGED = "pixels unchanged (no model for this image)"


class PrivacyMixin(QMainWindow):
    """Needs ``model``, ``engine``, ``privacy``, ``viewer``, ``_metrics_timer`` and ``resultShown``."""

    model: ViewerModel
    engine: EngineAdapter
    _engine_model: MedeidModel | None
    _model_dir: str | None
    _gate_injected: bool
    device: str
    privacy: PrivacyPanel | None
    viewer: SideBySideViewer | None
    _metrics_timer: QTimer
    _metrics_for: tuple[LoadedFrame, PrivacyResult] | None

    def _observe_privacy(self) -> None:
        self.model.method_changed.connect(self._on_method)
        self.model.privacy_changed.connect(self._on_level)

    def _connect_panel(self, panel: PrivacyPanel) -> None:
        panel.set_privacy(self.model.privacy)
        panel.privacyChanged.connect(lambda percent: self.model.set_privacy(from_percent(percent)))
        self._on_method(self.model.method)

    # -- the level and the verdict ---------------------------------------------------------
    def set_privacy(self, privacy: Privacy) -> None:
        """Move the slider to ``privacy`` (its change reaches the model like a user's drag)."""
        if self.privacy is not None:
            self.privacy.set_privacy(privacy)

    def step_privacy(self, delta_percent: int) -> None:
        if self.privacy is not None:
            self.privacy.step(delta_percent)

    def _on_method(self, method: SeriesMethod) -> None:
        """A new series' verdict: slider on or off with its one line of reason; the engine runs the
        model the registry chose for the series (a site model, or the shipped one)."""
        self._use_model(method)
        if self.privacy is None:
            return
        # no image shown: the slider moves (nothing changes; the next series opens at its own level)
        self.privacy.set_method(method.allowed or method is NO_IMAGE, "" if method is NO_IMAGE else method.line)
        self.privacy.set_risk(method.risk(self.model.privacy))

    def _on_level(self, privacy: Privacy) -> None:
        if self.privacy is not None:
            if self.privacy.privacy != privacy:  # a new series' level: show it without re-emitting
                self.privacy.slider.blockSignals(True)
                self.privacy.set_privacy(privacy)
                self.privacy.slider.blockSignals(False)
            self.privacy.set_risk(self.model.risk())
        self.request_privacy()

    def models_changed(self) -> None:
        """A model was trained or imported: the series shown is decided again (it may now have a
        site model, and the engine loads it), and exports read the registry again."""
        from medeid_gui.pixels.privacy_gate import forget_models

        forget_models()
        listing = getattr(self, "models_dialog", None)  # Settings > Privacy Models, when open
        if listing is not None:
            listing.refresh()
        if self._gate_injected:
            return
        self.model.redecide()

    def _use_model(self, method: SeriesMethod) -> None:
        """(Re)load the engine with ``method``'s model when it is not the one loaded or loading.

        An injected model (tests, ``MainWindow(model=...)``) is kept whatever the series; outside
        every domain the loaded model stays (it is not asked)."""
        if self._engine_model is not None or not method.allowed or method.model is None:
            return
        wanted = None if method.model.shipped else str(method.model.folder)
        self._model_dir = wanted
        if not self.engine.load_requested or wanted == self.engine.model_dir:
            return  # the first load (after the window is shown) takes ``_model_dir``
        if self.privacy is not None:
            self.privacy.set_device(f"engine: loading {method.model.name}…")
        self.engine.load(self.device, model_dir=wanted)

    # -- requests and results --------------------------------------------------------------
    def request_privacy(self) -> int | None:
        """Ask the engine for the current frame at the current level (latest wins).

        Outside the method's domain nothing is asked: the right pane shows the original pixels.
        """
        lf = self.model.current
        if lf is None or self.privacy is None or self.viewer is None:
            return None
        if not self.model.method.allowed:
            self.viewer.set_result(lf.frame, None, None)
            self.viewer.deid.caption.setText(UNCHANGED)
            return None
        if not self.engine.available:
            return None
        return self.engine.submit(to_model_sense(lf.frame, lf.invert), self.model.privacy, key=lf.ref.key)

    def _on_result(self, res: PrivacyResult) -> None:
        lf = self.model.current
        if lf is None or not self.model.is_current(res.key) or not self.model.method.allowed:
            self.engine.dropped_on_arrival += 1  # the image (or its series' verdict) changed since
            return
        res.frame = from_model_sense(res.frame, lf.invert)
        self.viewer.set_result(res.frame, res.identity_map, res.mask)
        self.privacy.set_latency(res.seconds)
        self.viewer.deid.caption.setText(f"p = {res.privacy:.2f}")
        self.resultShown.emit(res)
        # readouts only once the slider rests: no competing computation during a drag
        self._metrics_for = (lf, res)
        self._metrics_timer.start()

    def _request_metrics(self) -> None:
        if self._metrics_for is None or self.model.current is None:
            return
        lf, res = self._metrics_for
        self._metrics_for = None
        if self.model.is_current(res.key):
            seen = replace(res, frame=to_model_sense(res.frame, lf.invert))
            self.engine.request_metrics(to_model_sense(lf.frame, lf.invert), seen)

    def _on_metrics(self, key: ImageKey, familiar: Familiarity | None, fidelity: float | None) -> None:
        if not self.model.is_current(key):
            return
        self.privacy.set_familiarity(familiar if self.model.method.allowed else None)
        self.privacy.set_fidelity(fidelity, self.engine.metrics_reason())

    # -- the engine ------------------------------------------------------------------------
    def _on_engine_ready(self, device: str) -> None:
        self.viewer.pending_message = "waiting for the de-identification engine…"
        self.act_idmap.setEnabled(True)
        self.act_mask.setEnabled(True)
        self.privacy.set_device(f"device: {device}", ok=True,
                                reason=f"site model: {self.engine.model_dir}" if self.engine.model_dir else "")
        r = self.engine.metrics_reason()
        if r:
            self.privacy.set_fidelity(None, r)
        self.request_privacy()

    def _on_engine_unavailable(self, reason: str, details: str) -> None:
        import logging

        self.privacy.set_device("engine: unavailable", ok=False, reason=reason)
        self.privacy.set_fidelity(None, reason)
        self.viewer.pending_message = "pixel de-identification unavailable (see the device label)"
        if self.viewer.original_frame is not None and self.viewer.result_frame is None:
            rows, cols = self.viewer.original_frame.shape[:2]
            self.viewer.deid.clear(self.viewer.pending_message, at=(cols / 2.0, rows / 2.0))
        self.act_idmap.setEnabled(False)
        self.act_mask.setEnabled(False)
        for a in (self.act_idmap, self.act_mask):
            a.setToolTip(reason)
        logging.getLogger("medeid.ui").warning("inference engine unavailable: %s\n%s", reason, details)
