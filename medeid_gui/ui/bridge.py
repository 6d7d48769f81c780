"""Background jobs whose results reach widgets through queued signals, newest request wins.

Why: frame decoding (JPEG 2000 can take a noticeable time), header ``describe`` runs, OCR and
metric computations must never run on the GUI thread, and while the user scrolls through slices
only the result for the slice now shown matters. :class:`LatestRunner` keeps one private worker
thread, coalesces queued requests to the newest one, and drops every result whose request has
been superseded — both in the worker (before emitting) and again on the main thread (a result
can be overtaken while the queued signal is in flight).
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal, Slot

if TYPE_CHECKING:
    from superqt.utils import FunctionWorker

log = logging.getLogger("medeid.ui")


_niced = threading.local()


def lower_thread_priority(nice: int = 5) -> None:
    """Make the calling (worker) thread yield the CPU to the GUI thread under load.

    Why: on a busy 2-core machine the GUI thread competes with decoding and inference threads;
    the scheduler should favour the thread that keeps the window responsive. Linux applies
    ``setpriority`` to the calling thread (who=0); elsewhere this is a no-op. Best effort.
    """
    if getattr(_niced, "done", False):
        return
    _niced.done = True
    import os
    import sys

    if sys.platform.startswith("linux"):
        try:
            os.setpriority(os.PRIO_PROCESS, 0, min(19, os.getpriority(os.PRIO_PROCESS, 0) + nice))
        except (OSError, AttributeError):
            pass


class Relay(QObject):
    """A parentless ``fired(kind, payload)`` signal for worker threads (see ``_RunnerRelay``)."""

    fired = Signal(str, object)


class RelayedJob(QObject):
    """One background job (a scan, an export) that reports ``progress``/``finished`` or an error.

    Why one class: the worker must talk to a parentless :class:`Relay`, never to the job itself,
    because the job dies with its window while the worker may still be running; every job wired
    that the same way, so the wiring lives here. A subclass declares ``progress`` and ``finished``
    signals and says what an error means in ``_on_error``; the worker function gets a ``report``
    callable as its last argument, whose payload (a tuple) becomes ``progress``'s arguments.
    """

    def _start_worker(self, fn: Callable[..., object], *args: object) -> FunctionWorker:
        from superqt.utils import create_worker  # imported late: not needed for the first paint

        self._relay = relay = Relay()
        relay.fired.connect(self._dispatch)

        def report(payload: tuple) -> None:
            relay.fired.emit("progress", payload)  # queued to the main thread

        worker = create_worker(
            fn, *args, report, _start_thread=False,
            _connect={"returned": lambda r: relay.fired.emit("finished", r),
                      "errored": lambda e: relay.fired.emit("error", e)},
        )
        worker.start()
        return worker

    def _dispatch(self, kind: str, payload: object) -> None:
        if kind == "progress":
            self.progress.emit(*payload)
        elif kind == "finished":
            self.finished.emit(payload)
        else:
            self._on_error(payload)

    def _on_error(self, exc: Exception) -> None:
        raise NotImplementedError


class _RunnerRelay(QObject):
    """Parentless carrier of a runner's worker-thread signals.

    Why: a worker may finish after the window (and the runner, its child) has been destroyed.
    Emitting on a destroyed QObject crashes the process; emitting on this relay, which stays
    alive as long as a job refers to it, is harmless — Qt dropped the relay's connection to the
    runner when the runner was destroyed.
    """

    done = Signal(int, object, object, float)
    error = Signal(int, object, str, str)


class LatestRunner(QObject):
    """Run ``fn()`` on a worker thread; deliver only the newest request's result.

    ``finished(tag, result, seconds)`` and ``failed(tag, message, details)`` are emitted on the
    thread the runner lives in (the main thread), never for a superseded request.
    """

    finished = Signal(object, object, float)
    failed = Signal(object, str, str)
    busyChanged = Signal(bool)

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"medeid-{name}")
        self._lock = threading.Lock()
        self._gen = 0
        self._delivered = 0
        self._pending: tuple[int, Callable[[], object], object, float, _RunnerRelay] | None = None
        self.dropped = 0  #: results computed but not delivered because a newer request existed
        self._closed = False
        self._relay = _RunnerRelay()
        self._relay.done.connect(self._on_done)
        self._relay.error.connect(self._on_error)

    @property
    def busy(self) -> bool:
        return self._gen != self._delivered

    @property
    def generation(self) -> int:
        return self._gen

    def submit(self, fn: Callable[[], object], tag: object = None) -> int:
        """Queue ``fn``; any not yet started older request is discarded. Returns the request id."""
        if self._closed:
            return self._gen
        with self._lock:
            was_busy = self.busy
            self._gen += 1
            gen = self._gen
            self._pending = (gen, fn, tag, time.perf_counter(), self._relay)
        if not was_busy:
            self.busyChanged.emit(True)
        self._pool.submit(self._drain)
        return gen

    def invalidate(self) -> None:
        """Forget every outstanding request (e.g. the image they were for is gone)."""
        with self._lock:
            self._gen += 1
            self._pending = None
            self._delivered = self._gen
        self.busyChanged.emit(False)

    def _drain(self) -> None:
        lower_thread_priority()
        with self._lock:
            job, self._pending = self._pending, None
        if job is None:
            return
        gen, fn, tag, t0, relay = job
        try:
            result = fn()
        except Exception as exc:  # noqa: BLE001 - delivered as a signal, shown by the owner
            if gen == self._gen:
                relay.error.emit(gen, tag, f"{type(exc).__name__}: {exc}", traceback.format_exc())
            return
        if gen != self._gen:
            self.dropped += 1
            return
        relay.done.emit(gen, tag, result, time.perf_counter() - t0)

    @Slot(int, object, object, float)
    def _on_done(self, gen: int, tag: object, result: object, seconds: float) -> None:
        if gen != self._gen:  # overtaken while the queued signal travelled
            self.dropped += 1
            return
        self._delivered = gen
        self.busyChanged.emit(False)
        self.finished.emit(tag, result, seconds)

    @Slot(int, object, str, str)
    def _on_error(self, gen: int, tag: object, message: str, details: str) -> None:
        if gen != self._gen:
            return
        self._delivered = gen
        self.busyChanged.emit(False)
        log.warning("%s job failed: %s", self.name, message)
        self.failed.emit(tag, message, details)

    def shutdown(self) -> None:
        self._closed = True
        with self._lock:
            self._pending = None
            self._gen += 1
        self._pool.shutdown(wait=False, cancel_futures=True)
