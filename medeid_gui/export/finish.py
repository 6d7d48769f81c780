"""The finish phase of an export: DICOMDIR File-set or metadata.csv, manifest, run.json, summary.

Why a failure here does not fail the files: every output is already complete and recorded; what
is left is the index over them. A disk-full here is a note ("run the same command again to
finish"), and the next run, having nothing to export, only finishes.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from medeid_gui.export.atomic import OutputWriteError, remove_empty_dirs
from medeid_gui.export.config import ExportSummary, display_path
from medeid_gui.export.progress import ProgressEvent
from medeid_gui.export.run_state import RunState
from medeid_gui.export.rundb import EXPORTED, FAILED, QUARANTINED, SKIPPED, RunDB


def _finalize_dicomdir(db: RunDB, out: Path, work_root: Path) -> None:
    import hashlib

    from medeid_gui.export.dicomdir import build_fileset

    rows = [r for r in db.rows() if r.status == EXPORTED and r.output]
    if not work_root.is_dir():
        return
    res = build_fileset(work_root, out, [r.output for r in rows if (work_root / r.output).exists()])
    for r in rows:
        final = res.moved.get(r.output)
        if final is None:
            continue
        sha = hashlib.sha256((out / final).read_bytes()).hexdigest()
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
    from medeid_gui.export.frames_out import META_COLUMNS, MetaRow

    rows: list[MetaRow] = []
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


def _write_run_json(db: RunDB, summary: ExportSummary) -> None:
    """``run.json`` beside ``manifest.csv``: the settings, counts and notes of the run."""
    from medeid_gui.export.atomic import write_bytes_atomic

    info = {
        "settings": json.loads(db.get("settings") or "{}"),
        "input": db.get("input"),
        "output": db.get("output"),
        "counts": {"exported": summary.exported, "skipped": summary.skipped, "failed": summary.failed,
                   "quarantined": summary.quarantined, "resumed_this_run": summary.resumed},
        "cancelled": summary.cancelled,
        "notes": summary.notes,
    }
    p = db.path.parent / "run.json"
    write_bytes_atomic(p, json.dumps(info, indent=1, ensure_ascii=False).encode("utf-8"))
    os.chmod(p, 0o600)  # holds the input path


def _write_index(state: RunState) -> None:
    """The DICOMDIR File-set or metadata.csv; a failure becomes ``summary.finalize_error``."""
    cfg, summary = state.cfg, state.summary
    state.emit(ProgressEvent("finalize", 0, 1, message="finalizing"))
    try:
        if cfg.dicomdir and not state.finalized:
            _finalize_dicomdir(state.db, state.out, state.work_root)
        elif cfg.fmt in ("png", "npy"):
            _write_metadata_csv(state.db, state.out)
        remove_empty_dirs(state.out)
    except Exception as exc:  # noqa: BLE001 - e.g. disk full: rerunning the command finishes it
        what = "the DICOMDIR File-set" if cfg.dicomdir else "metadata.csv"
        reason = exc.reason if isinstance(exc, OutputWriteError) else f"{type(exc).__name__}: {exc}"
        summary.finalize_error = f"could not write {what} ({reason}); run the same command again to finish"
        summary.notes.append(summary.finalize_error)


def _write_manifest(state: RunState) -> None:
    """manifest.csv beside the run database (and a copy where ``--manifest`` asks)."""
    db, cfg = state.db, state.cfg
    manifest = db.path.parent / "manifest.csv"
    try:
        db.export_csv(manifest)
        if cfg.manifest:
            shutil.copyfile(manifest, cfg.manifest)
    except OSError as exc:  # e.g. the state disk is full: the run database still holds every row
        from medeid_gui.export.atomic import describe_os_error

        state.summary.notes.append(f"could not write the manifest CSV ({describe_os_error(exc)}); "
                                   f"every row is in the run database {db.path}")
    state.summary.manifest_path = Path(cfg.manifest) if cfg.manifest else manifest


def _count(state: RunState) -> None:
    """The summary's counts and failures from the run database (this run and earlier ones)."""
    db, summary = state.db, state.summary
    counts = db.counts()
    summary.exported = counts.get(EXPORTED, 0)
    summary.skipped = counts.get(SKIPPED, 0)
    summary.failed = counts.get(FAILED, 0)
    summary.quarantined = counts.get(QUARANTINED, 0)
    summary.failures = [(r.input, r.reason) for r in db.rows() if r.status in (FAILED, QUARANTINED)]
    if state.qdir is not None and summary.failures:
        from medeid_gui.export.quarantine import quarantine_path, write_reasons

        write_reasons(
            state.qdir,
            [
                (r.input, display_path(quarantine_path(state.qdir, state.inp, Path(r.input))), r.reason)
                for r in db.rows()
                if r.status == QUARANTINED
            ],
        )


def finish(state: RunState) -> ExportSummary:
    """The finish phase (the index only when the run was not cancelled); returns the summary."""
    summary = state.summary
    if not summary.cancelled:
        _write_index(state)
    _write_manifest(state)
    _count(state)
    state.db.set("notes", json.dumps(summary.notes))
    try:
        _write_run_json(state.db, summary)
    except OSError as exc:
        summary.notes.append(f"could not write run.json ({exc})")
    bad = summary.failed + summary.quarantined
    state.emit(
        ProgressEvent(
            "done",
            state.done,
            state.total,
            state.bytes_done,
            state.bytes_total,
            failed=bad,
            message=f"{summary.exported} exported, {bad} failed, {summary.skipped} skipped",
        )
    )
    return summary
