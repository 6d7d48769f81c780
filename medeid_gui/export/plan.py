"""The plan phase of an export: scan the input, account for every file, list the work.

Why before anything is written: the steward sees how much is there, every input file gets a
manifest row (what is not exported says why: not DICOM, a DICOMDIR, a duplicate …), and what an
earlier run of the same command already exported is not done again (resume).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from medeid_gui.export.config import display_path
from medeid_gui.export.progress import ProgressEvent
from medeid_gui.export.run_state import RunState
from medeid_gui.export.rundb import EXPORTED, FAILED, QUARANTINED, SKIPPED, FileRow
from medeid_gui.export.worker import Task

if TYPE_CHECKING:  # pragma: no cover
    from concurrent.futures import ProcessPoolExecutor

    from medeid_gui.dicom.discover import InstanceRef

#: ``discover``'s ``map_fn``: ``map_fn(examine, paths)`` gives ``examine(path)`` for each path, in order
MapFn = Callable[[Callable[[Path], object], list[Path]], Iterable[object]]


@dataclass
class Scan:
    """What the input holds, by input path (``str``)."""

    all_files: list[Path]  #: every file, sorted: what the manifest must account for
    instances: dict[str, InstanceRef]
    rejected: dict[str, str]  #: path -> why it is not a readable instance
    dicomdirs: set[str]
    duplicate_of: dict[str, str]  #: a later file with an earlier file's SOPInstanceUID -> the earlier


def walk_all(root: Path) -> list[Path]:
    """Every file under ``root`` (what the manifest must account for), sorted."""
    out: list[Path] = []
    if root.is_file():
        return [root]
    for dirpath, dirs, files in os.walk(root, onerror=lambda e: None):
        dirs.sort()
        for f in files:
            out.append(Path(dirpath) / f)
    return sorted(out)


def _looks_dicom(path: Path) -> bool:
    from medeid_gui.dicom.read import sniff

    try:
        with open(path, "rb") as fh:
            return sniff(fh.read(256)) is not None
    except OSError:
        return True  # unreadable: we cannot tell, so it counts as a failure, not a skip


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    except OSError as exc:
        return f"unreadable: {exc}"
    return h.hexdigest()


def _file_id(path: Path) -> tuple[int | None, int | None]:
    try:
        st = path.stat()
        return st.st_size, st.st_mtime_ns
    except OSError:
        return None, None


@contextlib.contextmanager
def scan_pool(workers: int) -> Iterator[MapFn | None]:
    """Header reads of the plan phase across processes when the export has several workers.

    Why: the scan reads every header once and ran serially, which capped the speed-up of a
    two-worker export. The pool starts only once a full chunk of files is waiting (a small
    export does not pay for starting processes) and is shut down before the export's own pool.
    """
    from medeid_gui.dicom.discover import CHUNK

    if workers <= 1:
        yield None
        return
    holder: list[ProcessPoolExecutor] = []

    def map_fn(fn: Callable[[Path], object], items: list[Path]) -> Iterable[object]:
        if len(items) < CHUNK and not holder:
            return map(fn, items)
        if not holder:
            from concurrent.futures import ProcessPoolExecutor

            from medeid_gui.export.pool import _context

            holder.append(ProcessPoolExecutor(max_workers=workers, mp_context=_context()))
        return holder[0].map(fn, items, chunksize=max(1, len(items) // (4 * workers)))

    try:
        yield map_fn
    finally:
        for ex in holder:
            ex.shutdown(wait=True, cancel_futures=True)


def _duplicates(instances: dict[str, InstanceRef]) -> dict[str, str]:
    """The same SOPInstanceUID in two files would collide in the output: later file -> first."""
    first_of_uid: dict[str, str] = {}
    duplicate_of: dict[str, str] = {}
    for p in sorted(instances):
        uid = instances[p].sop_instance_uid
        if not uid:
            continue
        if uid in first_of_uid:
            duplicate_of[p] = first_of_uid[uid]
        else:
            first_of_uid[uid] = p
    return duplicate_of


def scan(state: RunState) -> Scan | None:
    """Read every header (the summary's counts come from here); None when cancelled."""
    from medeid_gui.dicom.discover import discover

    state.emit(ProgressEvent("scan", message="scanning"))

    def scan_progress(n: int) -> None:
        state.emit(ProgressEvent("scan", done=n))

    with scan_pool(state.workers) as map_fn:
        disc = discover([state.inp], cancel=state.cancel, progress=scan_progress, map_fn=map_fn)
    if disc.cancelled:
        return None
    instances = {str(i.path): i for i in disc.instances}
    found = Scan(walk_all(state.inp), instances, {str(r.path): r.reason for r in disc.rejected},
                 {str(p) for p in disc.dicomdirs}, _duplicates(instances))
    state.summary.files = len(found.all_files)
    state.summary.studies = len({i.study_uid for i in disc.instances if i.study_uid})
    state.summary.bytes = sum(i.size for i in disc.instances)
    return found


def _output_exists(state: RunState, row: FileRow) -> bool:
    base = state.out if state.finalized or not state.cfg.dicomdir else state.work_root
    return bool(row.output) and (base / row.output).exists()


def _not_exported(found: Scan, p: Path) -> tuple[str, str]:
    """(status, reason) of an input file that is not an instance to export."""
    sp = str(p)
    if sp in found.duplicate_of:
        first = found.duplicate_of[sp]
        if _sha256(p) == _sha256(Path(first)):
            return SKIPPED, f"identical copy of {display_path(first)}"
        return FAILED, (f"same SOPInstanceUID as {display_path(first)} but different content "
                        "(duplicate instance; only the first is exported)")
    if sp in found.dicomdirs:
        return SKIPPED, "DICOMDIR (an index, not an instance; regenerate with --dicomdir)"
    if sp in found.rejected:
        return (FAILED if _looks_dicom(p) else SKIPPED), found.rejected[sp]
    return SKIPPED, "not a DICOM instance"


def plan_tasks(state: RunState, found: Scan) -> list[Task]:
    """The files to export now; every other file gets its manifest row (unless it has one from
    an earlier run of the same files). Sets ``summary.resumed``."""
    tasks: list[Task] = []
    resumed = 0
    for p in found.all_files:
        sp, key = str(p), display_path(p)
        size, mtime = _file_id(p)
        row = state.db.row(key)
        same = row is not None and row.size == size and row.mtime_ns == mtime
        if sp in found.instances and sp not in found.duplicate_of:
            if same and row is not None and row.status == EXPORTED and _output_exists(state, row):
                resumed += 1
            else:
                tasks.append(Task(sp, size or 0, mtime))
            continue
        if same and row is not None and row.status in (SKIPPED, FAILED, QUARANTINED) and sp not in found.instances:
            continue  # already recorded by an earlier run
        status, reason = _not_exported(found, p)
        state.record_failure(p, key, size, mtime, status, reason)
    state.summary.resumed = resumed
    return tasks


def _reopen_fileset(state: RunState) -> None:
    """New or changed inputs after a finished --dicomdir run: the File-set is rebuilt from scratch
    (outputs are deterministic, so re-exporting gives the same bytes)."""
    state.db.set("finalized", "0")
    state.finalized = False
    for row in list(state.db.rows()):
        if row.status == EXPORTED:
            state.db.record(row.input, status="pending", size=row.size, mtime_ns=row.mtime_ns, sha256=row.sha256)


def plan(state: RunState) -> list[Task] | None:
    """The plan phase: the tasks of the execute phase, or None when the scan was cancelled."""
    found = scan(state)
    if found is None:
        return None
    state.finalized = state.db.get("finalized") == "1"
    tasks = plan_tasks(state, found)
    if tasks and state.finalized and state.cfg.dicomdir:
        _reopen_fileset(state)
        tasks = plan_tasks(state, found)  # every instance is pending now: all are exported again
    return tasks
