"""The inference engine: one owner of the method's model and device, for export and for the GUI.

Why one owner: the networks and the device (a CUDA context, MPS, or CPU threads) are expensive
and not safe to drive from many threads at once.  Export workers call :meth:`run_batch` (frames
from many files, chunked into device-sized batches); the GUI calls :meth:`submit_latest`, where
only the newest request matters: while the user drags the privacy slider, a request that has not
started yet is replaced by the next one, and a result whose request has been superseded (or
cancelled) is dropped, never delivered.  Delivery happens under the engine's lock after a final
"is this still the latest?" check, so a callback never sees a stale result even if a newer request
races with the end of a computation.  The GUI adapts the callback to a queued Qt signal; this
module has no Qt.

Identity maps can be cached per frame key (e.g. ``(sop_instance_uid, frame_index, window)`` -- the
key must change whenever the frame's pixels do): moving the slider then only re-blocks and
re-compensates, using the method's split API (``analyse`` once per frame, ``apply_level`` per
privacy level).

Every path returns :class:`DeidOutput` (``frame``, ``identity_map``, ``mask``), the one result type
of ``ml``: an injected function that returns a plain 3-tuple is converted.

Batching is an explicit choice made at construction (``batch_fn``), not guessed from the frame
function: the default engine (the method itself) batches its networks across frames; an injected
``deidentify_fn`` runs frame by frame unless a ``batch_fn`` is given with it.

Device choice: :func:`medeid_gui.ml.device.pick_device` (``device`` argument, else
``MEDEID_DEVICE``, else CUDA > MPS > CPU).  ``import torch`` happens only when a device or model is
first needed.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, Union

import numpy as np

from medeid_gui.ml.batch import tensor_batch
from medeid_gui.ml.deidentify import DeidOutput
from medeid_gui.ml.device import pick_device

if TYPE_CHECKING:
    from medeid_gui.ml.familiarity import Familiarity, FamiliarityModel
    from medeid_gui.ml.model import MedeidModel

__all__ = [
    "DeidOutput",
    "FrameMethod",
    "BatchMethod",
    "FrameRequest",
    "EngineResult",
    "InferenceEngine",
    "default_engine",
    "tensor_batch",
]

#: what a frame method may return: the result type itself, or a plain (frame, identity_map, mask)
FrameResult = Union[DeidOutput, "tuple[np.ndarray, np.ndarray, np.ndarray]"]


class FrameMethod(Protocol):
    """A per-frame de-identification function (the method's ``deidentify``, a baseline, a fake)."""

    def __call__(self, frame: np.ndarray, privacy: float, *, seed: int,
                 model: MedeidModel | None) -> FrameResult: ...


class BatchMethod(Protocol):
    """A function that de-identifies a list of frames in one go (same results as frame by frame)."""

    def __call__(self, frames: Sequence[np.ndarray], privacy: float, *, seed: int,
                 model: MedeidModel | None) -> Sequence[FrameResult]: ...


#: the identity-map cache's split of a frame method: (identity_fn, apply_fn)
IdentityFn = Callable[..., np.ndarray]
ApplyFn = Callable[..., FrameResult]


def as_output(result: FrameResult) -> DeidOutput:
    """``result`` as :class:`DeidOutput` (an injected function may return a plain 3-tuple)."""
    return result if isinstance(result, DeidOutput) else DeidOutput(*result)


class FrameRequest:
    """One interactive request: ``frame`` (working image in [0, 1]) at level ``privacy``.

    ``key`` identifies the frame for the identity-map cache (``None``: no caching). Immutable.
    ``p=`` is accepted as the level's old keyword so that callers written before the rename keep
    working; new code passes ``privacy``.
    """

    __slots__ = ("frame", "privacy", "key", "seed")

    frame: np.ndarray
    privacy: float
    key: Hashable | None
    seed: int

    def __init__(self, frame: np.ndarray, privacy: float | None = None, key: Hashable | None = None,
                 seed: int = 0, *, p: float | None = None) -> None:
        if (privacy is None) == (p is None):
            raise TypeError("FrameRequest needs the level once: privacy=... (or the old p=...)")
        for name, value in (("frame", frame), ("privacy", privacy if p is None else p),
                            ("key", key), ("seed", seed)):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("FrameRequest is immutable")

    def __repr__(self) -> str:
        return (f"FrameRequest(frame=<{getattr(self.frame, 'shape', '?')}>, privacy={self.privacy!r}, "
                f"key={self.key!r}, seed={self.seed!r})")


@dataclass(frozen=True)
class EngineResult:
    """What a :meth:`InferenceEngine.submit_latest` callback receives (exactly one of output/error)."""

    generation: int
    request: FrameRequest
    output: DeidOutput | None = None
    error: BaseException | None = None
    seconds: float = 0.0
    cached_identity: bool = False


class InferenceEngine:
    """Owns the model and device; batched export and latest-wins interactive requests.

    ``deidentify_fn`` (a :class:`FrameMethod`) defaults to
    :func:`medeid_gui.ml.deidentify.deidentify`; a different function (e.g. a baseline, or a slow
    fake in tests) can be injected, with ``split = (identity_fn(frame, *, model),
    apply_fn(frame, analysis, privacy, *, seed, model))`` for the identity-map cache (by default
    the method's ``analyse`` / ``apply_level``).
    ``batch_fn`` (a :class:`BatchMethod`) is what :meth:`run_batch` runs per chunk: by default the
    method's networks batched across frames when ``deidentify_fn`` is not given, and frame by
    frame through ``deidentify_fn`` when it is.
    ``model`` is passed through to them; by default the method's default model is loaded once, on
    the engine's device, on first use.
    """

    def __init__(
        self,
        device: str | None = None,
        *,
        deidentify_fn: FrameMethod | None = None,
        split: tuple[IdentityFn, ApplyFn] | None = None,
        batch_fn: BatchMethod | None = None,
        model: MedeidModel | None = None,
        batch_size: int | None = None,
        identity_cache: int = 32,
        models: str | None = None,
    ) -> None:
        self._requested_device = device
        self._device: str | None = None
        self._fn = deidentify_fn
        self._split = split
        self._batch_fn = batch_fn if batch_fn is not None or deidentify_fn is not None else tensor_batch
        self._model = model
        self._model_ready = model is not None or deidentify_fn is not None
        self._batch_size = batch_size
        self._model_lock = threading.Lock()  # one computation on the device at a time
        self._cond = threading.Condition(threading.RLock())
        self._generation = 0
        self._pending: tuple[int, FrameRequest, Callable[[EngineResult], None]] | None = None
        self._worker: threading.Thread | None = None
        self._closed = False
        self._batch_cancel = threading.Event()
        self._id_cache: OrderedDict[Hashable, np.ndarray] = OrderedDict()
        self._id_cache_size = identity_cache
        self.delivered = 0
        self.dropped = 0
        #: the model folder the engine loads its model from (None: the shipped one); only a model
        #: the engine loaded itself is scored for familiarity (statistics belong to their weights)
        self._models = models
        self._familiarity: FamiliarityModel | None = None

    # ---- device and model --------------------------------------------------------------

    @property
    def device_name(self) -> str:
        """``cpu``, ``cuda``, ``cuda:N`` or ``mps`` (resolved on first access)."""
        if self._device is None:
            if self._fn is not None and self._model is None and self._requested_device in (None, "cpu"):
                # an injected pure-numpy function needs no torch device
                self._device = self._requested_device or "cpu"
            elif self._model is not None and getattr(self._model, "device", None):
                self._device = str(self._model.device)  # an injected model already lives somewhere
            else:
                self._device = pick_device(self._requested_device)
        return self._device

    def _ensure(self) -> None:
        """Resolve the method function and load the model once, on the engine's device."""
        if self._fn is not None and self._model_ready:
            return
        with self._model_lock:
            if self._fn is None:
                from . import deidentify as method

                self._fn = method.deidentify
                if self._split is None:
                    self._split = (
                        lambda frame, *, model: method.analyse(frame, model),
                        lambda frame, analysis, privacy, *, seed, model: method.apply_level(
                            analysis, privacy, seed=seed),
                    )
            if not self._model_ready:
                from .model import default_model, load_model

                if self._models is None:
                    self._model = default_model(device=self.device_name)
                else:
                    self._model = load_model(self._models, device=self.device_name)
                self._model_ready = True
                self._familiarity = self._load_familiarity()

    def _load_familiarity(self) -> FamiliarityModel | None:
        from medeid_gui._resources import models_dir

        from .familiarity import load_familiarity

        return load_familiarity(self._models or models_dir())

    def familiarity(self, frame: np.ndarray) -> Familiarity | None:
        """How far ``frame`` (a working image in [0, 1]) is from the model's training images.

        None when the engine runs an injected model or function, or its model folder has no
        familiarity statistics: then nothing is known, and callers do not refuse the image.
        """
        self._ensure()
        fam = self._familiarity
        if fam is None or self._model is None:
            return None
        from .deidentify import analyse
        from .familiarity import pooled_features

        with self._model_lock:
            feats = analyse(frame, self._model).features.float().cpu().numpy()
        return fam.score(pooled_features(feats))

    def _one(self, frame: np.ndarray, privacy: float, seed: int,
             key: Hashable | None) -> tuple[DeidOutput, bool]:
        """De-identify one frame, using (and filling) the identity-map cache when possible."""
        self._ensure()
        cached = False
        with self._model_lock:
            if self._split is not None and key is not None:
                ident_fn, apply_fn = self._split
                idm = self._cache_get(key)
                cached = idm is not None
                if idm is None:
                    idm = ident_fn(frame, model=self._model)
                    self._cache_put(key, idm)
                out = apply_fn(frame, idm, privacy, seed=seed, model=self._model)
            else:
                assert self._fn is not None  # set by _ensure
                out = self._fn(frame, privacy, seed=seed, model=self._model)
        return as_output(out), cached

    def _cache_get(self, key: Hashable) -> np.ndarray | None:
        with self._cond:
            hit = self._id_cache.get(key)
            if hit is not None:
                self._id_cache.move_to_end(key)
            return hit

    def _cache_put(self, key: Hashable, value: np.ndarray) -> None:
        if self._id_cache_size <= 0:
            return
        with self._cond:
            self._id_cache[key] = value
            while len(self._id_cache) > self._id_cache_size:
                self._id_cache.popitem(last=False)

    # ---- batch (export) -----------------------------------------------------------------

    def run_batch(self, frames: Sequence[np.ndarray], privacy: float, *,
                  seed: int = 0) -> list[DeidOutput]:
        """De-identify ``frames`` (working images in [0, 1]) at level ``privacy``, in order.

        Frames may come from many files and may differ in size.  They run in chunks of
        ``batch_size`` (64 on CUDA, 8 elsewhere) while holding the device, through the engine's
        ``batch_fn`` when it has one, otherwise frame by frame.  :meth:`cancel` stops it between
        chunks with ``InterruptedError``.
        """
        self._ensure()
        self._batch_cancel.clear()
        batch_fn = self._batch_fn
        size = self._batch_size or (64 if self.device_name.startswith("cuda") else 8)
        out: list[DeidOutput] = []
        for start in range(0, len(frames), size):
            if self._batch_cancel.is_set():
                raise InterruptedError("inference cancelled")
            chunk = list(frames[start : start + size])
            if batch_fn is not None:
                with self._model_lock:
                    results = batch_fn(chunk, privacy, seed=seed, model=self._model)
                out.extend(as_output(r) for r in results)
            else:
                for f in chunk:
                    out.append(self._one(f, privacy, seed, None)[0])
        return out

    # ---- interactive (latest wins) ------------------------------------------------------

    def submit_latest(self, request: FrameRequest, callback: Callable[[EngineResult], None]) -> int:
        """Queue ``request``, superseding any request not yet started; returns its generation.

        ``callback(EngineResult)`` runs on the engine's worker thread, only if no newer request
        (and no :meth:`cancel`) came in meanwhile.  Keep it short (e.g. emit a queued signal).
        """
        with self._cond:
            if self._closed:
                raise RuntimeError("engine is closed")
            self._generation += 1
            if self._pending is not None:
                self.dropped += 1
            self._pending = (self._generation, request, callback)
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._loop, name="medeid-inference", daemon=True)
                self._worker.start()
            self._cond.notify_all()
            return self._generation

    @property
    def generation(self) -> int:
        """The generation of the newest request (or cancel); results of older ones are dropped."""
        with self._cond:
            return self._generation

    def cancel(self) -> None:
        """Drop the pending request, make the running one stale, and stop a running batch."""
        with self._cond:
            self._generation += 1
            if self._pending is not None:
                self.dropped += 1
            self._pending = None
            self._batch_cancel.set()
            self._cond.notify_all()

    def close(self, timeout: float | None = 5.0) -> None:
        """Cancel everything and stop the worker thread."""
        self.cancel()
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            worker = self._worker
        if worker is not None and worker is not threading.current_thread():
            worker.join(timeout)

    def _loop(self) -> None:
        import time

        while True:
            with self._cond:
                while self._pending is None and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                gen, req, callback = self._pending  # type: ignore[misc]
                self._pending = None
            t0 = time.perf_counter()
            try:
                output, cached = self._one(req.frame, req.privacy, req.seed, req.key)
                result = EngineResult(gen, req, output=output, seconds=time.perf_counter() - t0, cached_identity=cached)
            except BaseException as exc:  # noqa: BLE001 - delivered to the caller, not lost
                result = EngineResult(gen, req, error=exc, seconds=time.perf_counter() - t0)
            with self._cond:
                if gen != self._generation or self._closed:
                    self.dropped += 1
                    continue
                self.delivered += 1
                try:
                    callback(result)
                except Exception:
                    import logging

                    logging.getLogger(__name__).exception("inference callback failed")


_default: InferenceEngine | None = None
_default_lock = threading.Lock()


def default_engine() -> InferenceEngine:
    """The process-wide engine (device from ``MEDEID_DEVICE`` or auto), created on first use."""
    global _default
    with _default_lock:
        if _default is None:
            _default = InferenceEngine()
        return _default
