"""De-identify and write one file: the unit of work every export process runs.

Why a module of plain functions with per-process state: the pool sends only a small picklable
``Task``; each process builds its ``Deidentifier`` once (``init_worker``) from the key *file*, so
no state is shared between processes and pseudonyms agree because they are keyed, not stored.
Every failure of one file becomes a ``FileResult`` with a sentence — nothing here may stop a run.
"""

from __future__ import annotations

import hashlib
import os
import traceback
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from medeid_gui.export.atomic import OutputWriteError, write_bytes_atomic
from medeid_gui.export.layout import dicom_relpath, safe_component
from medeid_gui.ml.privacy import SeriesPrivacy, method_runs

if TYPE_CHECKING:  # pragma: no cover
    from pydicom.dataset import Dataset

    from medeid_gui.deid.engine import DeidConfig
    from medeid_gui.export.frames_out import MetaRow
    from medeid_gui.ml.engine import DeidOutput, InferenceEngine
    from medeid_gui.pixels.clean import PixelRequest, PreparedPixels

#: ``process`` result statuses (the run database adds ``skipped``/``quarantined``)
OK, FAIL, SKIP = "exported", "failed", "skipped"


@dataclass(frozen=True)
class WorkerSetup:
    """Everything a process needs, picklable (the key travels as a file path, not bytes).

    ``privacy_by_series`` is the configuration's mapping as it is (a dict pickles; it is left out
    of the hash, which a frozen dataclass would otherwise compute from every field).
    """

    deid_config: DeidConfig
    key_file: str
    out_root: str
    fmt: str = "dicom"
    pixel_request: PixelRequest | None = None  # None: header only
    #: original SeriesInstanceUID -> level chosen for that series in the viewer
    privacy_by_series: SeriesPrivacy = field(default_factory=dict, hash=False)
    group_files: int = 1  # files per unit of work sent to a process (see unit_plan)
    shared_batches: bool = False  # a unit's files share the method's device batches


@dataclass(frozen=True)
class Task:
    path: str  # input file (as found)
    size: int
    mtime_ns: int | None = None  # as seen by the plan (the manifest records what was exported)


@dataclass
class FileResult:
    path: str
    status: str
    reason: str = ""
    sha256: str | None = None
    output: str | None = None  # relative to the output root, '/'-separated
    output_sha256: str | None = None
    linkage: list[tuple[str, str, str]] = field(default_factory=list)
    meta: list[MetaRow] | None = None  # one row per frame for --format png/npy
    notes: list[str] = field(default_factory=list)


_STATE: dict[str, Any] = {}


def init_worker(setup: WorkerSetup) -> None:
    """Build the per-process de-identifier (called once in each pool process, or in-process)."""
    from medeid_gui.deid.engine import Deidentifier
    from medeid_gui.deid.keys import ProjectKey

    warnings.simplefilter("ignore")
    key = ProjectKey.from_file(setup.key_file)
    _STATE.clear()
    _STATE["setup"] = setup
    _STATE["deid"] = Deidentifier(setup.deid_config, key)


def _sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


#: files up to this size are read once into memory, hashed and parsed from there (one open and
#: one read instead of three); larger ones are hashed in blocks and parsed from disk
READ_ONCE_MAX = 64 << 20


def _read_bytes(path: str) -> bytes | None:
    """The whole file when it is small enough to hold (None otherwise, or when it cannot be read:
    the normal reader then words the error)."""
    try:
        with open(path, "rb") as fh:
            if os.fstat(fh.fileno()).st_size > READ_ONCE_MAX:
                return None
            return fh.read()
    except OSError:
        return None


def linkage_pairs(linkage: Mapping[str, object] | None) -> list[tuple[str, str, str]]:
    """Normalise the engine's ``linkage`` to (kind, original, pseudonym) triples.

    Accepts ``{kind: (orig, new)}``, ``{kind: {orig: new}}`` and ``{kind: [(orig, new), ...]}``.
    """
    out: list[tuple[str, str, str]] = []
    if not linkage:
        return out
    for kind, val in dict(linkage).items():
        if isinstance(val, dict):
            items = list(val.items())
        elif isinstance(val, (tuple, list)) and len(val) == 2 and all(isinstance(x, str) for x in val):
            items = [tuple(val)]
        elif isinstance(val, (tuple, list)):
            items = [tuple(x) for x in val]
        else:
            continue
        for orig, new in items:
            if orig and new:
                out.append((str(kind), str(orig), str(new)))
    return sorted(set(out))


def _explain_exception(exc: BaseException) -> str:
    from medeid_gui.dicom.read import DicomReadError

    if isinstance(exc, DicomReadError):
        return exc.reason
    if isinstance(exc, OutputWriteError):
        return f"cannot write output: {exc.reason}"
    if isinstance(exc, PermissionError):
        return f"permission denied ({exc.strerror})"
    if isinstance(exc, OSError):
        return f"I/O error ({exc.strerror or exc})"
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {msg}"[:300] if msg else type(exc).__name__


def process(task: Task) -> FileResult:
    """Read, (clean pixels), de-identify, encode and write one input file."""
    return _complete(_guarded(task, None, lambda: _start(task)))


#: files whose frames go through the method together (export with a privacy level): one device
#: call for the frames of many images.  Smaller images are gathered until this many frames wait.
BATCH_FRAMES = 64


#: files per unit of work sent to a pool process when nothing else decides: results come back
#: per unit, so the parent's per-file cost of futures and pickling is paid once per 8 files
IPC_GROUP = 8


def unit_plan(pixel_request: PixelRequest | None, privacy_by_series: SeriesPrivacy | None = None,
              workers: int = 1) -> tuple[int, bool]:
    """``(files per unit of work, whether a unit's files share method batches)``.

    Shared batches only when the method runs on an accelerator (16 files). Why not on the CPU: a
    batched forward pass is not bit-identical to a single-frame one (float rounding differs with
    batch shape), so cross-file batches would make the exported pixels depend on which files
    happened to share a batch — a resumed run could differ from an uninterrupted one. Per-file
    batches keep CPU exports byte-reproducible; on a GPU, where batching is what makes the method
    fast, the last-bit differences are accepted (see the README). Otherwise units of
    :data:`IPC_GROUP` files when there are pool processes, single files in-process.
    ``MEDEID_EXPORT_GROUP=N`` forces shared batches of N files (tests, benchmarks).
    """
    ipc = IPC_GROUP if workers > 1 else 1
    if pixel_request is None or not method_runs(pixel_request.privacy, privacy_by_series):
        return ipc, False
    forced = os.environ.get("MEDEID_EXPORT_GROUP", "").strip()
    if forced:
        n = max(1, int(forced))
        return n, n > 1
    try:
        from medeid_gui.ml.device import pick_device

        accelerator = pick_device() != "cpu"
    except Exception:  # noqa: BLE001 - a device problem is reported by the workers, per file
        accelerator = False
    return (16, True) if accelerator else (ipc, False)


def process_group(tasks: list[Task]) -> list[FileResult]:
    """:func:`process` for several files (one unit of work); with ``setup.shared_batches`` the
    method runs on their frames in shared batches.

    Results are the same as processing each file alone (the method is per frame; batching only
    changes how many frames one device call carries).  A file with more frames than
    :data:`BATCH_FRAMES` runs alone (in chunks); if a shared batch fails, its files are retried one
    by one, so one bad file never fails the others.
    """
    results: list[FileResult] = []
    waiting: list[_Job] = []
    n_waiting = 0
    shared = bool(_STATE["setup"].shared_batches)

    def flush() -> None:
        nonlocal n_waiting
        by_level: dict[tuple[float, int, str | None], list[_Job]] = {}
        for job in waiting:
            plan = job.prep.plan
            by_level.setdefault((plan.p, plan.seed, plan.model_dir), []).append(job)
        for (p, seed, model_dir), jobs in by_level.items():
            outs = None
            try:
                frames = [job.prep.plan.working(i) for job in jobs for i in range(job.prep.frames)]
                outs = _engine(model_dir).run_batch(frames, p, seed=seed)
            except Exception:  # noqa: BLE001 - find the file at fault: retry each alone below
                outs = None
            k = 0
            for job in jobs:
                if outs is None:
                    _guarded(job.task, job, lambda job=job: _run_plan(job))
                    continue
                mine = outs[k:k + job.prep.frames]
                k += job.prep.frames
                _guarded(job.task, job, lambda job=job, mine=mine: _write_back(job, mine))
        for job in waiting:
            results.append(_guarded(job.task, job, lambda job=job: _finish(job)).res)
        waiting.clear()
        n_waiting = 0

    for task in tasks:
        job = _guarded(task, None, lambda task=task: _start(task))
        plan = job.prep.plan if job.ds is not None and job.prep is not None else None
        if plan is not None and shared and job.prep.frames <= BATCH_FRAMES:
            waiting.append(job)
            n_waiting += job.prep.frames
            if n_waiting >= BATCH_FRAMES:
                flush()
            continue
        results.append(_complete(job))
    flush()
    return results


@dataclass
class _Job:
    """One file between the steps of :func:`process` (``ds`` is None once it has failed)."""

    task: Task
    res: FileResult
    ds: Dataset | None = None
    prep: PreparedPixels | None = None


def _guarded(task: Task, job: _Job | None, step: Callable[[], _Job | None]) -> _Job:
    """Run one step; any exception fails only this file (with a reason), never the run."""
    try:
        out = step()
        return out if isinstance(out, _Job) else job  # type: ignore[return-value]
    except BaseException as exc:
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        failed = job if job is not None else _Job(task, FileResult(task.path, FAIL))
        failed.ds = None
        failed.res.status, failed.res.reason = FAIL, _explain_exception(exc)
        if os.environ.get("MEDEID_DEBUG"):
            failed.res.notes.append(traceback.format_exc())
        return failed


def _engine(model_dir: str | None = None) -> InferenceEngine:
    """The engine of the model the domain gate chose for a file (None: the shipped model)."""
    if model_dir is None:
        engine = _STATE.get("engine")
        if engine is None:
            from medeid_gui.ml.engine import default_engine  # lazily: torch

            engine = _STATE["engine"] = default_engine()
        return engine
    from medeid_gui.pixels.privacy_gate import engine_for

    return engine_for(model_dir)


_PREFIX = {
    "read": "cannot read",
    "pixel": "pixel de-identification failed",
    "deid": "header de-identification failed",
    "encode": "cannot encode the de-identified file",
    "write": "cannot write output",
}


def _fail(job: _Job, stage: str, exc: BaseException) -> _Job:
    """Word a failure at ``stage`` as the manifest shows it; the job stops here."""
    from medeid_gui.dicom.read import DicomReadError

    res = job.res
    if isinstance(exc, DicomReadError):
        res.reason = exc.reason
    elif isinstance(exc, OutputWriteError):
        res.reason = f"cannot write output: {exc.reason}"
    else:
        if stage == "write" or not isinstance(exc, OSError):
            why = _explain_exception(exc)
        else:  # pydicom raises OSError subclasses for encoding problems: not an I/O failure
            why = f"{type(exc).__name__}: {(str(exc).strip().splitlines() or [''])[0][:300]}"
        res.reason = f"{_PREFIX[stage]}: {why}"
        if os.environ.get("MEDEID_DEBUG"):
            res.notes.append(traceback.format_exc())
    res.status = FAIL
    job.ds = None
    return job


def _start(task: Task) -> _Job:
    """Read and hash the file, and do the pixel work that comes before the method."""
    from medeid_gui.dicom.read import read_dataset

    setup: WorkerSetup = _STATE["setup"]
    job = _Job(task, FileResult(task.path, FAIL))
    data = _read_bytes(task.path)
    job.res.sha256 = hashlib.sha256(data).hexdigest() if data is not None else _sha256_file(task.path)
    try:
        job.ds = read_dataset(task.path, data=data)
    except Exception as exc:  # noqa: BLE001 - any read error is the file's failed row
        return _fail(job, "read", exc)
    if setup.pixel_request is not None:
        from medeid_gui.pixels.clean import prepare_pixels  # lazily: pulls in ml/ (torch)

        request = setup.pixel_request.for_series(str(job.ds.get("SeriesInstanceUID", "") or ""),
                                                 setup.privacy_by_series)
        try:
            job.prep = prepare_pixels(job.ds, request)
            if job.prep.plan is not None:  # inside a domain: is the image familiar to the model?
                from medeid_gui.pixels.privacy_gate import check_familiarity

                check_familiarity(job.prep, _engine(job.prep.plan.model_dir))
        except Exception as exc:  # noqa: BLE001 - any pixel error is the file's failed row
            return _fail(job, "pixel", exc)
    return job


def _run_plan(job: _Job) -> _Job:
    """The method on this file's frames alone (chunked)."""
    try:
        job.prep.plan.run(_engine(job.prep.plan.model_dir))
    except Exception as exc:  # noqa: BLE001 - a PixelCleanError that says what failed
        return _fail(job, "pixel", exc)
    return job


def _complete(job: _Job) -> FileResult:
    """The rest of one file on its own: the method (if any) on its frames, then the output."""
    if job.ds is not None and job.prep is not None and job.prep.plan is not None:
        _guarded(job.task, job, lambda: _run_plan(job))
    return _guarded(job.task, job, lambda: _finish(job)).res


def _write_back(job: _Job, outputs: list[DeidOutput]) -> _Job:
    """Blocked pixels from a shared batch's outputs (one per frame of this file)."""
    try:
        for i, out in enumerate(outputs):
            job.prep.plan.write_back(i, out)
    except Exception as exc:  # noqa: BLE001 - any pixel error is the file's failed row
        return _fail(job, "pixel", exc)
    return job


def _finish(job: _Job) -> _Job:
    """Write cleaned pixels, de-identify the header, encode and write the output."""
    if job.ds is None:
        return job
    setup: WorkerSetup = _STATE["setup"]
    ds, res = job.ds, job.res
    pixels_cleaned = visual_cleaned = False
    if job.prep is not None:
        from medeid_gui.pixels.clean import finish_pixels

        try:
            report = finish_pixels(job.prep)
        except Exception as exc:  # noqa: BLE001 - any pixel error is the file's failed row
            return _fail(job, "pixel", exc)
        pixels_cleaned = bool(report.pixels_cleaned)
        visual_cleaned = bool(report.visual_features_cleaned)
        res.notes.extend(str(n) for n in report.notes or [])
    stage = "deid"
    try:
        result = _STATE["deid"].deidentify(ds, pixels_cleaned=pixels_cleaned, visual_features_cleaned=visual_cleaned,
                                           keep_actions=False)
        out_ds = result.dataset
        res.linkage = linkage_pairs(result.linkage)
        stage = "encode"
        if setup.fmt == "dicom":
            from medeid_gui.export.serialize import to_bytes

            data = to_bytes(out_ds)
            sha = hashlib.sha256(data).hexdigest()
            rel = dicom_relpath(out_ds, sha)
            stage = "write"
            write_bytes_atomic(Path(setup.out_root, rel), data, durable=False)  # synced in batches
            res.output, res.output_sha256 = rel, sha
        else:
            from medeid_gui.export.frames_out import NoFrames, write_frames

            try:
                rel, sha, rows = write_frames(out_ds, Path(setup.out_root), setup.fmt)
            except NoFrames as exc:
                res.status, res.reason = SKIP, str(exc)
                job.ds = None
                return job
            res.output, res.output_sha256, res.meta = rel, sha, rows
    except Exception as exc:  # noqa: BLE001 - any write error is the file's failed row
        return _fail(job, stage, exc)
    res.status = OK
    job.ds = None  # done: free the dataset
    return job


__all__ = ["WorkerSetup", "Task", "FileResult", "init_worker", "process", "process_group", "unit_plan",
           "linkage_pairs", "safe_component"]
