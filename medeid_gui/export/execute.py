"""The execute phase of an export: the planned files through the workers, each result recorded.

Why results are recorded here, in the parent, as they arrive: the run database is the one
writer's record of what is complete (a row says exported only after its output is on disk), so
killing the run at any point leaves a state the next run resumes from.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from medeid_gui.export.config import display_path
from medeid_gui.export.progress import ProgressEvent
from medeid_gui.export.run_state import RunState
from medeid_gui.export.rundb import EXPORTED, FAILED, SKIPPED
from medeid_gui.export.worker import FileResult, Task, WorkerSetup, unit_plan

#: linkage rows held before they are written to the ledger in one transaction
LEDGER_BATCH = 2000


def worker_setup(state: RunState, tasks: list[Task], workers: int) -> WorkerSetup:
    """What every worker process needs, with the unit size that suits the pixel step."""
    by_series = state.cfg.privacy_by_series or {}
    group, shared = unit_plan(state.pixel_request, by_series, workers) if tasks else (1, False)
    return WorkerSetup(state.cfg.deid, state.key_file, str(state.work_root), state.cfg.fmt, state.pixel_request,
                       by_series, group_files=group, shared_batches=shared)


def _record(state: RunState, res: FileResult, task: Task, link_buf: list[tuple[str, str, str]]) -> bool:
    """One worker result into the run database (linkage into ``link_buf``); True if it failed."""
    p = Path(res.path)
    key = display_path(p)
    size, mtime = task.size, task.mtime_ns
    if res.status == EXPORTED:
        state.db.record(
            key, status=EXPORTED, size=size, mtime_ns=mtime, sha256=res.sha256,
            output=res.output, output_sha256=res.output_sha256, meta=res.meta,
            reason="; ".join(n for n in res.notes if "\n" not in n),
        )
        link_buf.extend(res.linkage)
        return False
    if res.status == SKIPPED:
        state.db.record(key, status=SKIPPED, reason=res.reason, size=size, mtime_ns=mtime, sha256=res.sha256)
        return False
    state.record_failure(p, key, size, mtime, FAILED, res.reason, sha=res.sha256)
    return True


def _results(state: RunState, tasks: list[Task], setup: WorkerSetup, workers: int) -> Iterator[FileResult]:
    """The workers' results: the local process pool, or a Dask cluster with ``cfg.cluster``
    (imported only then: the plain export never loads Dask)."""
    if not state.cfg.cluster:
        from medeid_gui.export.pool import run_tasks

        return run_tasks(tasks, setup, workers, cancel=state.cancel)
    from medeid_gui.export.cluster import parse_address, run_cluster_tasks

    parse_address(state.cfg.cluster)  # a malformed address fails now, not at the first result
    def notify(text: str) -> None:
        state.summary.notes.append(text)
        state.emit(ProgressEvent("cluster", message=text))

    return run_cluster_tasks(tasks, setup, state.cfg.cluster, fingerprint=state.ledger_key, out_root=state.out,
                             notify=notify, cancel=state.cancel)


def execute(state: RunState, tasks: list[Task]) -> None:
    """Export ``tasks``; progress events per file; ``summary.cancelled`` when stopped early."""
    workers = min(state.workers, max(1, len(tasks)))
    setup = worker_setup(state, tasks, workers)
    state.total = len(tasks)
    state.bytes_total = sum(t.size for t in tasks)
    failed = 0
    state.emit(ProgressEvent("export", 0, state.total, 0, state.bytes_total))
    link_buf: list[tuple[str, str, str]] = []
    planned = {t.path: t for t in tasks}
    for res in _results(state, tasks, setup, workers):
        task = planned[res.path]
        failed += _record(state, res, task, link_buf)
        if len(link_buf) > LEDGER_BATCH:
            state.ledger.add(state.ledger_key, link_buf)
            link_buf = []
        state.done += 1
        state.bytes_done += int(task.size or 0)
        state.emit(ProgressEvent("export", state.done, state.total, state.bytes_done, state.bytes_total,
                                 display_path(Path(res.path)), res.status, failed=failed))
    state.ledger.add(state.ledger_key, link_buf)
    state.db.flush()
    if state.cancelled() and state.done < state.total:
        state.summary.cancelled = True
