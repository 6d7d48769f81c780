"""The batch export: plan (scan), export (parallel, resumable), finalize (DICOMDIR/CSV, manifest).

Why this shape: a data steward points it at a whole archive and walks away. So the plan phase
counts what is there before anything is written; every input file ends as exactly one manifest
row (exported / skipped / failed / quarantined, with a reason); outputs land atomically and are
recorded only after they are complete, which makes "kill it and run the same command again"
safe and gives byte-identical results; and a single bad file never stops the run. The GUI's
export dialog calls :func:`run_export` exactly like the CLI does.
"""

from __future__ import annotations

import hashlib
import json
import os
import contextlib
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from medeid_gui.export.atomic import OutputWriteError, cleanup_temporaries, remove_empty_dirs
from medeid_gui.export.progress import ProgressCallback, ProgressEvent
from medeid_gui.export.rundb import EXPORTED, FAILED, QUARANTINED, SKIPPED, RunDB, run_dir_for
from medeid_gui.export.worker import Task, WorkerSetup, unit_plan

FORMATS = ("dicom", "png", "npy")
BURNED_IN = ("auto", "all", "off", "on")  # "on" is an alias of "all"
SETTINGS_VERSION = "1"


class ExportError(Exception):
    """The export cannot start (bad folders, mismatched earlier run, missing pixel step …)."""


def _default_deid() -> Any:
    from medeid_gui.deid.engine import DeidConfig

    return DeidConfig()


@dataclass
class ExportConfig:
    """What to export and how. Field names are the GUI/CLI contract (docs/DEVELOPING.md)."""

    input: Path | str
    output: Path | str
    deid: Any = field(default_factory=_default_deid)
    key_file: Path | str | None = None
    workers: int | None = None
    fmt: str = "dicom"
    dicomdir: bool = False
    quarantine: Path | str | None = None
    privacy: float = 0.0
    burned_in: str = "auto"
    rectangles: Sequence[tuple[int, int, int, int]] | None = None
    #: per-series privacy level (original SeriesInstanceUID -> p); other series use ``privacy``
    privacy_by_series: dict[str, float] | None = None
    # extensions
    state_dir: Path | str | None = None  #: where run databases live (default: user state dir)
    ledger: Path | str | None = None  #: linkage ledger file (default: user data dir)
    manifest: Path | str | None = None  #: also copy manifest.csv here


@dataclass
class ExportSummary:
    exported: int = 0
    skipped: int = 0
    failed: int = 0
    quarantined: int = 0
    manifest_path: Path | None = None
    failures: list[tuple[str, str]] = field(default_factory=list)
    # extensions
    resumed: int = 0  #: files already exported by an earlier, interrupted run of the same command
    files: int = 0
    studies: int = 0
    bytes: int = 0
    cancelled: bool = False
    run_db: Path | None = None
    ledger_path: Path | None = None
    notes: list[str] = field(default_factory=list)
    finalize_error: str = ""

    @property
    def ok(self) -> bool:
        return self.failed == 0 and self.quarantined == 0 and not self.cancelled and not self.finalize_error


def display_path(p: Path | str) -> str:
    """A text form of a path that is always valid UTF-8 (odd bytes shown as \\xNN)."""
    return os.fsencode(str(p)).decode("utf-8", "backslashreplace")


def _inside(child: Path, parent: Path) -> bool:
    c, p = child.resolve(), parent.resolve()
    return c == p or p in c.parents


def _pixel_request(cfg: ExportConfig, notes: list[str]) -> Any:
    """The ``PixelRequest`` for the workers, or None for a header-only export."""
    wants = (cfg.privacy > 0 or any(v > 0 for v in (cfg.privacy_by_series or {}).values())
             or cfg.burned_in in ("all", "on") or bool(cfg.rectangles))
    try:
        from medeid_gui.pixels.clean import PixelRequest
    except ImportError:
        if wants:
            raise ExportError(
                "pixel de-identification not available (medeid_gui.pixels.clean is not installed); "
                "use --privacy 0 --burned-in off for a header-only export"
            ) from None
        if cfg.burned_in == "auto":
            notes.append("burned-in text: not checked (pixel module not available); header-only export")
        return None
    if not wants and cfg.burned_in == "off":
        return None
    return PixelRequest(cfg.privacy, cfg.burned_in, tuple(tuple(r) for r in (cfg.rectangles or ())))


def _effective_options(d: Any) -> set[str]:
    try:
        return {getattr(o, "value", str(o)) for o in d.effective_options()}
    except Exception:  # noqa: BLE001 - a bad option is reported where the engine is built
        return set()


def _settings_fingerprint(cfg: ExportConfig, key_fp: str, pixel_req: Any) -> str:
    d = cfg.deid
    opts = sorted(getattr(o, "value", str(o)) for o in (getattr(d, "options", None) or ()))
    safe = getattr(d, "safe_private_path", None)
    if not safe and "retain-safe-private" in {str(o) for o in _effective_options(d)}:
        from medeid_gui._resources import resource  # the shipped list: a new release may change it
        from medeid_gui.deid.private import SAFE_PRIVATE_FILE

        safe = resource("private", SAFE_PRIVATE_FILE)
    safe_sha = hashlib.sha256(Path(safe).read_bytes()).hexdigest() if safe and Path(safe).is_file() else ""
    blob = {
        "v": SETTINGS_VERSION,
        "profile": getattr(d, "profile", ""),
        "options": opts,
        "safe_private": safe_sha,
        "key": key_fp,
        "fmt": cfg.fmt,
        "dicomdir": bool(cfg.dicomdir),
        "pixels": repr(pixel_req) if pixel_req is not None else "",
    }
    if cfg.privacy_by_series:  # only when used, so earlier exports keep their fingerprint
        blob["privacy_by_series"] = sorted((k, float(v)) for k, v in cfg.privacy_by_series.items())
    return json.dumps(blob, sort_keys=True)


def _walk_all(root: Path) -> list[Path]:
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


def run_export(
    config: ExportConfig,
    *,
    progress: ProgressCallback | None = None,
    cancel: Callable[[], bool] | None = None,
) -> ExportSummary:
    """Export ``config.input`` into ``config.output``; see the module docstring."""
    from medeid_gui.deid.keys import ProjectKey
    from medeid_gui.dicom.discover import discover
    from medeid_gui.export.ledger import Ledger
    from medeid_gui.export.pool import run_tasks

    emit = progress or (lambda ev: None)
    cfg = config
    inp, out = Path(cfg.input), Path(cfg.output)
    if not inp.exists():
        raise ExportError(f"input not found: {display_path(inp)}")
    if cfg.fmt not in FORMATS:
        raise ExportError(f"unknown format {cfg.fmt!r}; choose one of {', '.join(FORMATS)}")
    if cfg.burned_in not in BURNED_IN:
        raise ExportError(f"--burned-in must be one of {', '.join(BURNED_IN)}")
    if not 0.0 <= float(cfg.privacy) <= 1.0:
        raise ExportError("--privacy must be between 0 and 1")
    for uid, level in (cfg.privacy_by_series or {}).items():
        if not 0.0 <= float(level) <= 1.0:
            raise ExportError(f"privacy for series {uid} must be between 0 and 1, got {level}")
    if cfg.dicomdir and cfg.fmt != "dicom":
        raise ExportError("--dicomdir needs --format dicom")
    if _inside(out, inp) or (inp.is_dir() and _inside(inp, out)):
        raise ExportError("the output folder must not be inside the input folder (or contain it)")
    qdir = Path(cfg.quarantine) if cfg.quarantine else None
    if qdir is not None and (_inside(qdir, out) or _inside(qdir, inp)):
        raise ExportError("the quarantine folder holds originals: it must be outside the input and the output folders")
    if out.exists() and not out.is_dir():
        raise ExportError(f"output is not a folder: {display_path(out)}")

    summary = ExportSummary()
    pixel_req = _pixel_request(cfg, summary.notes)
    try:
        key = ProjectKey.load_or_create(cfg.key_file)
    except Exception as exc:  # noqa: BLE001
        raise ExportError(f"project key: {exc}") from exc
    key_file = str(key.path) if key.path else None
    if key_file is None:
        raise ExportError("the project key must come from a file (workers load it by path)")

    run_dir = run_dir_for(out, Path(cfg.state_dir) if cfg.state_dir else None)
    from medeid_gui.export.atomic import sync_all

    if not out.is_dir() or not any(out.iterdir()):
        # The run database describes an output that is gone (deleted or emptied): resuming from
        # it would skip files that are no longer there. Start this output afresh.
        for stale in run_dir.glob("run.sqlite*"):
            stale.unlink()
    db = RunDB(run_dir / "run.sqlite", before_commit=sync_all)
    settings = _settings_fingerprint(cfg, key.fingerprint, pixel_req)
    earlier = db.get("settings")
    if earlier is not None and earlier != settings:
        db.close()
        raise ExportError(
            "this output folder holds an export made with other settings (profile, options, key or format); "
            "use an empty output folder"
        )
    if earlier is None and out.is_dir() and any(out.iterdir()):
        db.close()
        raise ExportError(f"output folder is not empty and is not an earlier medeid export: {display_path(out)}")
    db.set("settings", settings)
    db.set("input", display_path(inp.resolve()))
    db.set("output", display_path(out.resolve()))
    out.mkdir(parents=True, exist_ok=True)
    cleanup_temporaries(out)
    summary.run_db = db.path
    ledger = Ledger(Path(cfg.ledger) if cfg.ledger else None)
    summary.ledger_path = ledger.path
    ledger_key = key.fingerprint

    try:
        return _run(cfg, inp, out, qdir, key_file, pixel_req, db, ledger, ledger_key, summary, emit, cancel, discover, run_tasks)
    finally:
        db.close()
        ledger.close()


@contextlib.contextmanager
def _scan_pool(cfg: ExportConfig) -> Iterator[Callable[..., Any] | None]:
    """Header reads of the plan phase across processes when the export has several workers.

    Why: the scan reads every header once and ran serially, which capped the speed-up of a
    two-worker export. The pool starts only once a full chunk of files is waiting (a small
    export does not pay for starting processes) and is shut down before the export's own pool.
    """
    from medeid_gui.dicom.discover import CHUNK

    workers = max(1, int(cfg.workers or os.cpu_count() or 1))
    if workers <= 1:
        yield None
        return
    holder: list[Any] = []

    def map_fn(fn: Callable[[Any], Any], items: list[Any]) -> Any:
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


def _run(cfg, inp, out, qdir, key_file, pixel_req, db, ledger, ledger_key, summary, emit, cancel, discover, run_tasks):  # noqa: ANN001, PLR0913
    from medeid_gui.export.dicomdir import WORK_DIR

    # ---- plan ------------------------------------------------------------------------------
    emit(ProgressEvent("scan", message="scanning"))
    nbytes = [0]

    def scan_progress(n: int) -> None:
        emit(ProgressEvent("scan", done=n))

    with _scan_pool(cfg) as map_fn:
        disc = discover([inp], cancel=cancel, progress=scan_progress, map_fn=map_fn)
    if disc.cancelled:
        summary.cancelled = True
        return summary
    all_files = _walk_all(inp)
    instances = {str(i.path): i for i in disc.instances}
    rejected = {str(r.path): r.reason for r in disc.rejected}
    dicomdirs = {str(p) for p in disc.dicomdirs}
    summary.files = len(all_files)
    summary.studies = len({i.study_uid for i in disc.instances if i.study_uid})
    summary.bytes = sum(i.size for i in disc.instances)
    nbytes[0] = summary.bytes

    # duplicates: the same SOPInstanceUID in two files would collide in the output
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

    work_root = out / WORK_DIR if cfg.dicomdir else out
    finalized = db.get("finalized") == "1"
    tasks: list[Task] = []
    resumed = 0
    for p in all_files:
        sp = str(p)
        key = display_path(p)
        size, mtime = _file_id(p)
        row = db.row(key)
        if sp in instances and sp not in duplicate_of:
            if (
                row is not None
                and row.status == EXPORTED
                and row.size == size
                and row.mtime_ns == mtime
                and row.output
                and (out / row.output if finalized or not cfg.dicomdir else work_root / row.output).exists()
            ):
                resumed += 1
                continue
            tasks.append(Task(sp, size or 0, mtime))
            continue
        if row is not None and row.size == size and row.mtime_ns == mtime and row.status in (SKIPPED, FAILED, QUARANTINED) and sp not in instances:
            continue  # already recorded by an earlier run
        if sp in duplicate_of:
            first = duplicate_of[sp]
            if _sha256(p) == _sha256(Path(first)):
                status, reason = SKIPPED, f"identical copy of {display_path(first)}"
            else:
                status = FAILED
                reason = (f"same SOPInstanceUID as {display_path(first)} but different content "
                          "(duplicate instance; only the first is exported)")
        elif sp in dicomdirs:
            status, reason = SKIPPED, "DICOMDIR (an index, not an instance; regenerate with --dicomdir)"
        elif sp in rejected:
            status = FAILED if _looks_dicom(p) else SKIPPED
            reason = rejected[sp]
        else:
            status, reason = SKIPPED, "not a DICOM instance"
        _record_failure(db, qdir, inp, p, key, size, mtime, status, reason)
    summary.resumed = resumed
    if tasks and finalized and cfg.dicomdir:
        # new or changed inputs after a finished --dicomdir run: rebuild the File-set from scratch
        # (outputs are deterministic, so re-exporting gives the same bytes)
        db.set("finalized", "0")
        finalized = False
        for row in list(db.rows()):
            if row.status == EXPORTED:
                db.record(row.input, status="pending", size=row.size, mtime_ns=row.mtime_ns, sha256=row.sha256)
        return _run(cfg, inp, out, qdir, key_file, pixel_req, db, ledger, ledger_key, summary, emit, cancel, discover, run_tasks)

    # ---- export ----------------------------------------------------------------------------
    by_series = tuple(sorted((str(k), float(v)) for k, v in (cfg.privacy_by_series or {}).items()))
    workers = max(1, int(cfg.workers or os.cpu_count() or 1))
    workers = min(workers, max(1, len(tasks)))
    group, shared = unit_plan(pixel_req, by_series, workers) if tasks else (1, False)
    setup = WorkerSetup(cfg.deid, key_file, str(work_root), cfg.fmt, pixel_req, by_series,
                        group_files=group, shared_batches=shared)
    total = len(tasks)
    bytes_total = sum(t.size for t in tasks)
    done = bytes_done = failed = 0
    emit(ProgressEvent("export", 0, total, 0, bytes_total))
    link_buf: list[tuple[str, str, str]] = []
    planned = {t.path: t for t in tasks}
    for res in run_tasks(tasks, setup, workers, cancel=cancel):
        p = Path(res.path)
        key = display_path(p)
        t = planned[res.path]
        size, mtime = t.size, t.mtime_ns
        if res.status == EXPORTED:
            db.record(
                key, status=EXPORTED, size=size, mtime_ns=mtime, sha256=res.sha256,
                output=res.output, output_sha256=res.output_sha256, meta=res.meta,
                reason="; ".join(n for n in res.notes if "\n" not in n),
            )
            link_buf.extend(res.linkage)
            if len(link_buf) > 2000:
                ledger.add(ledger_key, link_buf)
                link_buf = []
        elif res.status == SKIPPED:
            db.record(key, status=SKIPPED, reason=res.reason, size=size, mtime_ns=mtime, sha256=res.sha256)
        else:
            failed += 1
            _record_failure(db, qdir, inp, p, key, size, mtime, FAILED, res.reason, sha=res.sha256)
        done += 1
        bytes_done += int(size or 0)
        emit(ProgressEvent("export", done, total, bytes_done, bytes_total, key, res.status, failed=failed))
    ledger.add(ledger_key, link_buf)
    db.flush()
    if cancel is not None and cancel() and done < total:
        summary.cancelled = True

    # ---- finalize --------------------------------------------------------------------------
    if not summary.cancelled:
        emit(ProgressEvent("finalize", 0, 1, message="finalizing"))
        try:
            if cfg.dicomdir and not finalized:
                _finalize_dicomdir(db, out, work_root)
            elif cfg.fmt in ("png", "npy"):
                _write_metadata_csv(db, out)
            remove_empty_dirs(out)
        except Exception as exc:  # noqa: BLE001 - e.g. disk full: rerunning the command finishes it
            what = "the DICOMDIR File-set" if cfg.dicomdir else "metadata.csv"
            reason = exc.reason if isinstance(exc, OutputWriteError) else f"{type(exc).__name__}: {exc}"
            summary.finalize_error = f"could not write {what} ({reason}); run the same command again to finish"
            summary.notes.append(summary.finalize_error)
    manifest = db.path.parent / "manifest.csv"
    try:
        db.export_csv(manifest)
        if cfg.manifest:
            shutil.copyfile(manifest, cfg.manifest)
    except OSError as exc:  # e.g. the state disk is full: the run database still holds every row
        from medeid_gui.export.atomic import describe_os_error

        summary.notes.append(f"could not write the manifest CSV ({describe_os_error(exc)}); "
                             f"every row is in the run database {db.path}")
    summary.manifest_path = Path(cfg.manifest) if cfg.manifest else manifest
    counts = db.counts()
    summary.exported = counts.get(EXPORTED, 0)
    summary.skipped = counts.get(SKIPPED, 0)
    summary.failed = counts.get(FAILED, 0)
    summary.quarantined = counts.get(QUARANTINED, 0)
    summary.failures = [(r.input, r.reason) for r in db.rows() if r.status in (FAILED, QUARANTINED)]
    if qdir is not None and summary.failures:
        from medeid_gui.export.quarantine import quarantine_path, write_reasons

        write_reasons(qdir, [(r.input, display_path(quarantine_path(qdir, inp, Path(r.input))), r.reason) for r in db.rows() if r.status == QUARANTINED])
    db.set("notes", json.dumps(summary.notes))
    try:
        _write_run_json(db, summary)
    except OSError as exc:
        summary.notes.append(f"could not write run.json ({exc})")
    emit(ProgressEvent("done", done, total, bytes_done, bytes_total, failed=summary.failed + summary.quarantined,
                       message=f"{summary.exported} exported, {summary.failed + summary.quarantined} failed, {summary.skipped} skipped"))
    return summary


def _write_run_json(db: RunDB, summary: ExportSummary) -> None:
    """``run.json`` beside ``manifest.csv``: the settings, counts and notes of the run."""
    info = {
        "settings": json.loads(db.get("settings") or "{}"),
        "input": db.get("input"),
        "output": db.get("output"),
        "counts": {"exported": summary.exported, "skipped": summary.skipped, "failed": summary.failed,
                   "quarantined": summary.quarantined, "resumed_this_run": summary.resumed},
        "cancelled": summary.cancelled,
        "notes": summary.notes,
    }
    from medeid_gui.export.atomic import write_bytes_atomic

    p = db.path.parent / "run.json"
    write_bytes_atomic(p, json.dumps(info, indent=1, ensure_ascii=False).encode("utf-8"))
    os.chmod(p, 0o600)  # holds the input path


def _record_failure(db: RunDB, qdir: Path | None, inp: Path, p: Path, key: str, size, mtime, status: str, reason: str, sha: str | None = None) -> None:  # noqa: ANN001
    if status == FAILED and qdir is not None:
        from medeid_gui.export.quarantine import copy_to_quarantine

        try:
            copy_to_quarantine(qdir, inp, p)
            status = QUARANTINED
        except OutputWriteError as exc:
            reason = f"{reason}; quarantine copy failed: {exc.reason}"
        except OSError as exc:
            reason = f"{reason}; quarantine copy failed: {exc.strerror or exc}"
    db.record(key, status=status, reason=reason, size=size, mtime_ns=mtime, sha256=sha)


def _finalize_dicomdir(db: RunDB, out: Path, work_root: Path) -> None:
    from medeid_gui.export.dicomdir import build_fileset

    rows = [r for r in db.rows() if r.status == EXPORTED and r.output]
    if not work_root.is_dir():
        return
    res = build_fileset(work_root, out, [r.output for r in rows if (work_root / r.output).exists()])
    import hashlib as _h

    for r in rows:
        final = res.moved.get(r.output)
        if final is None:
            continue
        sha = _h.sha256((out / final).read_bytes()).hexdigest()
        note = res.unlisted.get(r.output, "")
        db.record(r.input, status=EXPORTED, size=r.size, mtime_ns=r.mtime_ns, sha256=r.sha256, output=final,
                  output_sha256=sha, meta=json.loads(r.meta) if r.meta else None, reason=note)
    db.flush()
    db.set("finalized", "1")
    shutil.rmtree(work_root, ignore_errors=True)


def _write_metadata_csv(db: RunDB, out: Path) -> None:
    import csv
    import io

    from medeid_gui.export.atomic import write_bytes_atomic
    from medeid_gui.export.frames_out import META_COLUMNS

    rows: list[dict[str, Any]] = []
    for r in db.rows():
        if r.status == EXPORTED and r.meta:
            rows.extend(json.loads(r.meta))
    rows.sort(key=lambda d: (d["file"], int(d["frame"])))
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(META_COLUMNS), lineterminator="\n")
    w.writeheader()
    for d in rows:
        w.writerow({k: d.get(k, "") for k in META_COLUMNS})
    write_bytes_atomic(out / "metadata.csv", buf.getvalue().encode("utf-8"))
