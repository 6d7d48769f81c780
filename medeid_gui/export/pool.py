"""Run ``worker.process`` over tasks: in this process (one worker) or in a process pool.

Why processes and not threads: de-identification is pure-Python CPU work (pydicom), so threads
would serialise on the GIL. Why ``forkserver`` (or ``spawn``) rather than ``fork``: the GUI calls
the pipeline from a thread of a Qt process, and forking a multi-threaded process can deadlock.
At most ``2 x workers`` tasks are in flight, so cancel takes effect quickly and memory stays flat;
results come back as they finish (the caller records them; output bytes do not depend on order).
As with any ``spawn``/``forkserver`` pool, a *script* that calls ``run_export(workers>1)`` needs
the ``if __name__ == "__main__":`` guard (``python -m medeid_gui`` and installed entry points
have it). A worker process that dies (a decoder crash) does not end the run: the tasks it held
are retried one at a time and only the one that kills its process again is marked failed.
"""

from __future__ import annotations

import multiprocessing as mp
import sys
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from medeid_gui.export.worker import FileResult, Task, WorkerSetup, init_worker, process, process_group


def _units(tasks: Iterable[Task], size: int) -> Iterator[list[Task]]:
    unit: list[Task] = []
    for t in tasks:
        unit.append(t)
        if len(unit) >= size:
            yield unit
            unit = []
    if unit:
        yield unit


def _run_unit(unit: list[Task]) -> list[FileResult]:
    return process_group(unit) if len(unit) > 1 else [process(unit[0])]


def _context() -> mp.context.BaseContext:
    methods = mp.get_all_start_methods()
    if sys.platform.startswith("linux") and "forkserver" in methods:
        ctx = mp.get_context("forkserver")
        try:
            ctx.set_forkserver_preload(["pydicom", "numpy", "medeid_gui.export.worker"])
        except Exception:  # noqa: BLE001 - preload is only an optimisation
            pass
        return ctx
    return mp.get_context("spawn")


def run_tasks(
    tasks: Iterable[Task],
    setup: WorkerSetup,
    workers: int,
    *,
    cancel: Callable[[], bool] | None = None,
) -> Iterator[FileResult]:
    """Yield one ``FileResult`` per task (in completion order) until done or cancelled.

    Files go to processes in units of ``setup.group_files`` (results come back per unit; with
    ``setup.shared_batches`` a unit's frames also share the method's device batches).
    """
    size = max(1, int(setup.group_files))
    if workers <= 1:
        init_worker(setup)
        for unit in _units(tasks, size):
            if cancel is not None and cancel():
                return
            yield from _run_unit(unit)
        return
    pending: list[Task] = []  # tasks to retry one at a time after a worker process died
    it = _units(tasks, size)
    exhausted = False
    while True:
        ex = ProcessPoolExecutor(max_workers=workers, mp_context=_context(), initializer=init_worker, initargs=(setup,))
        inflight: dict[Future[list[FileResult]], tuple[list[Task], bool]] = {}
        broken = False
        try:
            while not broken:
                while True:
                    # after a crash, suspects run alone so the one that kills its process is known
                    solo = bool(pending)
                    if len(inflight) >= (1 if solo or any(s for _, s in inflight.values()) else 2 * workers):
                        break
                    if cancel is not None and cancel():
                        exhausted, pending = True, []
                        break
                    if pending:
                        unit = [pending.pop(0)]
                    elif not exhausted:
                        try:
                            unit = next(it)
                        except StopIteration:
                            exhausted = True
                            break
                    else:
                        break
                    inflight[ex.submit(_run_unit, unit)] = (unit, solo)
                if not inflight:
                    return
                done, _ = wait(inflight, return_when=FIRST_COMPLETED)
                for fut in done:
                    unit, alone = inflight.pop(fut)
                    try:
                        yield from fut.result()
                    except BrokenProcessPool:
                        broken = True
                        if alone:
                            yield FileResult(unit[0].path, "failed", "reading this file crashed the worker process")
                        else:
                            pending.extend(unit)
                    except Exception as exc:  # noqa: BLE001 - any pool failure becomes a failed row per file, never a lost file
                        for t in unit:
                            yield FileResult(t.path, "failed", f"worker process failed: {type(exc).__name__}: {exc}")
            # the pool is broken: everything still in flight is suspect
            pending.extend(t for unit, _ in inflight.values() for t in unit)
            pending.sort(key=lambda t: t.path)
        finally:
            ex.shutdown(wait=False, cancel_futures=True)
