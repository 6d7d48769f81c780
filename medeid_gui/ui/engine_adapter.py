"""Qt adapter over the inference engine: load in a worker, requests latest-wins, queued results.

Why an adapter: ``ml.engine.InferenceEngine`` knows nothing about Qt — it calls a callback on
its own thread. Widgets may only be touched on the main thread, so the callback emits a signal
on this QObject (which lives on the main thread) and Qt queues the delivery. The adapter also
re-checks that a result belongs to the newest request; the engine already drops stale results,
the check here covers the window between the engine's callback and the queued delivery.

Torch is imported only inside :meth:`load`, in a worker thread, after the window is shown.
"""

from __future__ import annotations

# numpy is imported where it is used: it is not needed to put the window on screen
import logging
import os
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal, Slot

from medeid_gui.ml.privacy import Privacy, check_privacy

from .bridge import lower_thread_priority

if TYPE_CHECKING:
    import numpy as np

    from medeid_gui.ml.engine import EngineResult, InferenceEngine
    from medeid_gui.ml.familiarity import Familiarity, FamiliarityModel
    from medeid_gui.ml.model import MedeidModel

#: the image a request is for: ``FrameRef.key`` (path, frame index)
ImageKey = tuple[str, int]

log = logging.getLogger("medeid.ui")


@dataclass
class PrivacyResult:
    """One de-identified frame as shown: which request, which image, how long it took."""

    token: int
    key: ImageKey | None  # the image the request was for
    privacy: Privacy
    frame: np.ndarray
    identity_map: np.ndarray
    mask: np.ndarray
    seconds: float  # request → arrival on the main thread
    model_dir: str | None = None  #: the site model folder that made it (None: shipped or injected)

    @property
    def p(self) -> Privacy:
        """The level under its short name (the tests' and the caption's ``p = ...``)."""
        return self.privacy


def _preload_ocr_libraries() -> None:
    """Load OpenCV and onnxruntime (the OCR's libraries) before torch, on this one thread.

    Why: loading OpenCV's native libraries in one thread while torch runs an operator in
    another crashed the process (SIGSEGV inside ``cv2`` import, seen in the GUI tests). Loading
    them here, sequentially and before torch starts computing, removes the overlap.
    """
    for name in ("cv2", "onnxruntime"):
        try:
            __import__(name)
        except Exception:  # noqa: BLE001 - OCR reports its own absence when it is used
            pass


def _shipped_familiarity() -> FamiliarityModel | None:
    """The shipped weights' familiarity statistics (sha256-checked), None when they have none."""
    from medeid_gui._resources import models_dir
    from medeid_gui.ml.familiarity import load_familiarity

    try:
        return load_familiarity(models_dir())
    except Exception:  # noqa: BLE001 - no warning is shown rather than a wrong one; logged
        log.warning("familiarity statistics not loaded: %s", traceback.format_exc())
        return None


class _AdapterRelay(QObject):
    """Parentless carrier of the adapter's worker-thread signals (see ``bridge._RunnerRelay``)."""

    loaded = Signal(object, str, object)
    load_failed = Signal(str, str)
    deliver = Signal(int, object, float, object)
    deliver_error = Signal(int, str, str)
    metrics = Signal(int, object, object, object)


class EngineAdapter(QObject):
    ready = Signal(str)  # device name
    unavailable = Signal(str, str)  # reason, details
    resultReady = Signal(object)  # PrivacyResult
    failed = Signal(str, str)
    busyChanged = Signal(bool)
    metricsReady = Signal(object, object, object)  # key, Familiarity | None, fidelity | None


    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.engine: InferenceEngine | None = None
        self.model: MedeidModel | None = None
        #: the shipped weights' training-image statistics (None: a model without them)
        self.familiarity: FamiliarityModel | None = None
        self._familiar_cache: tuple[object, Familiarity | None] | None = None
        self._closed = False
        self.device_name = ""
        self._reason = "the inference engine is loading"
        #: the site model folder loaded or loading (None: the shipped weights or an injected model)
        self.model_dir: str | None = None
        self.load_requested = False
        self._metrics_reason = ""
        self._token = 0
        self._pending: dict[int, tuple[ImageKey | None, Privacy, float, str | None]] = {}
        self._lock = threading.Lock()
        self._load_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="medeid-engine-load")
        self._metric_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="medeid-metrics")
        self._metric_token = 0
        self.delivered = 0
        self.dropped_on_arrival = 0
        # worker threads emit on the relay only: harmless if this adapter is already destroyed
        self._relay = relay = _AdapterRelay()
        relay.loaded.connect(self._on_loaded)
        relay.load_failed.connect(self._on_load_failed)
        relay.deliver.connect(self._on_deliver)
        relay.deliver_error.connect(self._on_deliver_error)
        relay.metrics.connect(self._on_metrics)
        self._deliver = relay.deliver  # tests inject late deliveries through this

    # -- loading --------------------------------------------------------------------------
    @property
    def available(self) -> bool:
        return self.engine is not None

    @property
    def reason(self) -> str:
        return self._reason

    def load(self, device: str | None = None, *, model: MedeidModel | None = None,
             model_dir: str | None = None) -> None:
        """Create the engine in a worker thread (imports torch there).

        ``model``: a ``MedeidModel`` to use instead of the shipped weights (tests); ``model_dir``:
        an installed site model's folder (the registry's choice for the series shown, verified
        on load); by default the shipped weights are loaded (sha256-checked).
        """
        if self._closed:
            return
        dev = None if device in (None, "", "auto") else device
        self.load_requested = True
        self.model_dir = model_dir if model is None else None
        with self._lock:  # a result of the replaced engine still on its way is dropped on arrival
            self._token += 1
            if self._pending:
                self._pending = {}
                self.busyChanged.emit(False)
        self._familiar_cache = None
        old, self.engine = self.engine, None
        if old is not None:
            try:
                old.close(timeout=0)
            except Exception:  # noqa: BLE001 - closing a replaced engine must not stop loading the new one
                pass
        self._load_pool.submit(self._load_in_worker, dev, model, self.model_dir, self._relay)

    def _load_in_worker(self, device: str | None, model: MedeidModel | None, model_dir: str | None,
                        relay: _AdapterRelay) -> None:
        t0 = time.perf_counter()
        _preload_ocr_libraries()
        try:
            import torch

            from medeid_gui.ml.engine import InferenceEngine
        except ImportError as exc:
            relay.load_failed.emit(
                f"pixel de-identification is not available: the inference engine could not be imported ({exc})",
                traceback.format_exc(),
            )
            return
        try:
            if (os.cpu_count() or 1) > 1 and torch.get_num_threads() >= (os.cpu_count() or 1):
                # leave one core to the GUI thread so the window stays fluid during inference
                torch.set_num_threads(max(1, (os.cpu_count() or 1) - 1))
            if model is None and model_dir is not None:
                from medeid_gui.ml.device import pick_device
                from medeid_gui.ml.familiarity import load_familiarity
                from medeid_gui.ml.model import load_model

                model = load_model(model_dir, device=pick_device(device))  # verified, at its work size
                self.familiarity = load_familiarity(model_dir)
            engine = InferenceEngine(device=device, model=model)
            dev = engine.device_name  # raises when an accelerator was asked for but is absent
            if model is None:
                from medeid_gui.ml.model import default_model

                model = default_model(device=dev)  # load + verify the weights now, not at the first slider move
                self.familiarity = _shipped_familiarity()
        except Exception as exc:  # noqa: BLE001 - shown to the user
            relay.load_failed.emit(f"pixel de-identification is not available: {exc}", traceback.format_exc())
            return
        try:
            from medeid_gui.ml.device import device_name

            label = f"{dev} — {device_name(dev)}"
        except Exception:  # noqa: BLE001 - a label only
            label = dev
        self.model = model
        log.info("inference engine ready on %s after %.2f s (model %s)", label, time.perf_counter() - t0,
                 model_dir or "shipped")
        relay.loaded.emit(engine, label, model_dir)

    @Slot(object, str, object)
    def _on_loaded(self, engine: InferenceEngine, device: str, model_dir: str | None) -> None:
        if model_dir != self.model_dir:  # a newer load (another series' model) is on its way
            engine.close(timeout=0)
            return
        self.engine = engine
        self.device_name = device
        self._reason = ""
        self.ready.emit(device)

    @Slot(str, str)
    def _on_load_failed(self, reason: str, details: str) -> None:
        self.engine = None
        self._reason = reason
        self.unavailable.emit(reason, details)

    # -- requests -------------------------------------------------------------------------
    def submit(self, frame: np.ndarray, privacy: Privacy, *, key: ImageKey | None = None) -> int | None:
        """Ask for ``frame`` at ``privacy``; returns the request token (None if no engine)."""
        if self.engine is None or self._closed:
            return None
        privacy = check_privacy(privacy)
        with self._lock:
            self._token += 1
            token = self._token
            self._pending = {token: (key, privacy, time.perf_counter(), self.model_dir)}
        self.busyChanged.emit(True)
        from medeid_gui.ml.engine import FrameRequest

        request = FrameRequest(frame=frame, p=privacy, key=key)

        relay = self._relay

        def callback(result: EngineResult, token: int = token) -> None:  # engine thread: only emit
            lower_thread_priority()  # the inference thread yields to the GUI thread under load
            relay.deliver.emit(token, result, time.perf_counter(), None)

        self.engine.submit_latest(request, callback)
        return token

    @property
    def latest_token(self) -> int:
        return self._token

    @Slot(int, object, float, object)
    def _on_deliver(self, token: int, result: EngineResult, _t_cb: float, _x: object) -> None:
        import numpy as np

        with self._lock:
            pending = self._pending.get(token)
        if token != self._token or pending is None:
            self.dropped_on_arrival += 1
            return
        key, privacy, t0, model_dir = pending
        self._pending = {}
        self.busyChanged.emit(False)
        if result.error is not None:
            error = result.error
            self.failed.emit(f"{type(error).__name__}: {error}", "".join(traceback.format_exception(error)))
            return
        out = result.output  # ml.engine.DeidOutput: exactly one of output / error is set
        if out is None:
            self.failed.emit("the engine returned no frame", repr(result)[:2000])
            return
        self.delivered += 1
        self.resultReady.emit(PrivacyResult(token, key, privacy, np.asarray(out.frame, dtype=np.float32),
                                            out.identity_map, out.mask, time.perf_counter() - t0,
                                            model_dir))

    @Slot(int, str, str)
    def _on_deliver_error(self, token: int, message: str, details: str) -> None:
        if token != self._token:
            return
        self._pending = {}
        self.busyChanged.emit(False)
        self.failed.emit(message, details)

    # -- readouts -------------------------------------------------------------------------
    def metrics_reason(self) -> str:
        """Why the risk / fidelity readouts are off ("" when they work)."""
        return self._metrics_reason

    def request_metrics(self, original: np.ndarray, res: PrivacyResult) -> None:
        """Familiarity of ``original`` and semantic fidelity of ``res`` (worker thread, latest wins).

        Both frames in the model's (MONOCHROME2) sense.
        """
        if self._closed:
            return
        self._metric_token += 1
        tok = self._metric_token
        relay = self._relay

        def job() -> None:
            lower_thread_priority()
            if tok != self._metric_token:
                return
            try:
                familiar, fid = self._compute_metrics(original, res.frame, res.key)
            except Exception as exc:  # noqa: BLE001 - a failed readout is shown as its reason, the image stays
                self._metrics_reason = f"readout failed: {exc}"
                log.warning("metrics failed: %s", traceback.format_exc())
                familiar, fid = None, None
            relay.metrics.emit(tok, res.key, familiar, fid)

        self._metric_pool.submit(job)

    def _compute_metrics(self, a: np.ndarray, b: np.ndarray,
                         key: ImageKey | None) -> tuple[Familiarity | None, float | None]:
        if self.model is None:
            self._metrics_reason = "no model loaded"
            return None, None
        from medeid_gui.viewmodel.metrics import identity_and_semantic_similarity, image_familiarity

        _cosine, fid = identity_and_semantic_similarity(self.model, a, b)
        cached = self._familiar_cache
        if cached is not None and cached[0] == key:
            return cached[1], fid  # the original did not change: its distance neither
        stats = self.familiarity
        familiar = image_familiarity(self.model, stats, a) if stats is not None else None
        self._familiar_cache = (key, familiar)
        return familiar, fid

    @Slot(int, object, object, object)
    def _on_metrics(self, tok: int, key: ImageKey | None, familiar: Familiarity | None, fid: float | None) -> None:
        if tok == self._metric_token:
            self.metricsReady.emit(key, familiar, fid)

    def shutdown(self) -> None:
        self._closed = True
        if self.engine is not None:
            try:
                self.engine.close(timeout=0)
            except Exception:  # noqa: BLE001 - shutdown continues whatever the old engine raises
                pass
        self._load_pool.shutdown(wait=False, cancel_futures=True)
        self._metric_pool.shutdown(wait=False, cancel_futures=True)
