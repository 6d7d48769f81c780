"""The batch export: plan (scan), export (parallel, resumable), finalize (DICOMDIR/CSV, manifest).

Why this shape: a data steward points it at a whole archive and walks away. So the plan phase
counts what is there before anything is written; every input file ends as exactly one manifest
row (exported / skipped / failed / quarantined, with a reason); outputs land atomically and are
recorded only after they are complete, which makes "kill it and run the same command again"
safe and gives byte-identical results; and a single bad file never stops the run. The GUI's
export dialog calls :func:`run_export` exactly like the CLI does.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from medeid_gui.export.atomic import cleanup_temporaries
from medeid_gui.export.config import BURNED_IN, FORMATS, ExportConfig, ExportError, ExportSummary, display_path
from medeid_gui.export.execute import execute
from medeid_gui.export.fingerprint import SETTINGS_VERSION, settings_fingerprint
from medeid_gui.export.finish import finish
from medeid_gui.export.plan import plan, walk_all
from medeid_gui.export.progress import ProgressCallback
from medeid_gui.export.run_state import RunState
from medeid_gui.export.rundb import RunDB, run_dir_for
from medeid_gui.ml.privacy import method_runs

if TYPE_CHECKING:  # pragma: no cover
    from medeid_gui.pixels.clean import PixelRequest

__all__ = ["BURNED_IN", "FORMATS", "SETTINGS_VERSION", "ExportConfig", "ExportError", "ExportSummary",
           "display_path", "run_export"]

#: the earlier name of :func:`medeid_gui.export.plan.walk_all` (export/audit.py imports it)
_walk_all = walk_all


def _inside(child: Path, parent: Path) -> bool:
    c, p = child.resolve(), parent.resolve()
    return c == p or p in c.parents


def _check_request(cfg: ExportConfig, inp: Path, out: Path, qdir: Path | None) -> None:
    """``ExportError`` for a request that cannot start (nothing is written before this passes)."""
    if not inp.exists():
        raise ExportError(f"input not found: {display_path(inp)}")
    if cfg.fmt not in FORMATS:
        raise ExportError(f"unknown format {cfg.fmt!r}; choose one of {', '.join(FORMATS)}")
    if cfg.burned_in not in BURNED_IN:
        raise ExportError(f"--burned-in must be one of {', '.join(BURNED_IN)}")
    if cfg.dicomdir and cfg.fmt != "dicom":
        raise ExportError("--dicomdir needs --format dicom")
    if _inside(out, inp) or (inp.is_dir() and _inside(inp, out)):
        raise ExportError("the output folder must not be inside the input folder (or contain it)")
    if qdir is not None and (_inside(qdir, out) or _inside(qdir, inp)):
        raise ExportError("the quarantine folder holds originals: it must be outside the input and the output folders")
    if out.exists() and not out.is_dir():
        raise ExportError(f"output is not a folder: {display_path(out)}")


def _header_only(cfg: ExportConfig, notes: list[str]) -> None:
    """Without the pixel module only the best-effort ``auto`` text check may be left out (with a
    note); anything else the configuration asks of the pixels is an error, never a silent skip."""
    if method_runs(cfg.privacy, cfg.privacy_by_series) or cfg.burned_in in ("all", "on") or cfg.rectangles:
        raise ExportError(
            "pixel de-identification not available (medeid_gui.pixels.clean is not installed); "
            "use --privacy 0 --burned-in off for a header-only export"
        )
    if cfg.burned_in == "auto":
        notes.append("burned-in text: not checked (pixel module not available); header-only export")


def _pixel_request(cfg: ExportConfig, notes: list[str]) -> PixelRequest | None:
    """The ``PixelRequest`` for the workers, or None for a header-only export.

    Whether the pixel step runs is :meth:`PixelRequest.runs`'s decision (per-series levels count).
    """
    try:
        from medeid_gui.pixels.clean import PixelRequest
    except ImportError:
        _header_only(cfg, notes)
        return None
    try:
        request = PixelRequest(cfg.privacy, cfg.burned_in, tuple(cfg.rectangles or ()),
                               strict_privacy=bool(cfg.strict_privacy))
    except ValueError as exc:  # a malformed rectangle
        raise ExportError(str(exc)) from None
    return request if request.runs(cfg.privacy_by_series) else None


def _open_run_db(cfg: ExportConfig, out: Path, settings: str) -> RunDB:
    """The output's run database, refusing an output that holds something else."""
    from medeid_gui.export.atomic import sync_all

    inp = Path(cfg.input)
    run_dir = run_dir_for(out, Path(cfg.state_dir) if cfg.state_dir else None)
    if not out.is_dir() or not any(out.iterdir()):
        # The run database describes an output that is gone (deleted or emptied): resuming from
        # it would skip files that are no longer there. Start this output afresh.
        for stale in run_dir.glob("run.sqlite*"):
            stale.unlink()
    db = RunDB(run_dir / "run.sqlite", before_commit=sync_all)
    earlier = db.get("settings")
    if earlier is not None and earlier != settings:
        db.close()
        raise ExportError(
            "this output folder holds an export made with other settings (profile, options, key, format, "
            "pixel settings, or another release's pixel step or installed privacy models); "
            "use an empty output folder"
        )
    if earlier is None and out.is_dir() and any(out.iterdir()):
        db.close()
        raise ExportError(f"output folder is not empty and is not an earlier medeid export: {display_path(out)}")
    db.set("settings", settings)
    db.set("input", display_path(inp.resolve()))
    db.set("output", display_path(out.resolve()))
    return db


def _open_run(cfg: ExportConfig, progress: ProgressCallback | None, cancel: Callable[[], bool] | None) -> RunState:
    """Check the request, load the key, open the run database and the ledger."""
    from medeid_gui.deid.keys import ProjectKey
    from medeid_gui.export.ledger import Ledger

    inp, out = Path(cfg.input), Path(cfg.output)
    qdir = Path(cfg.quarantine) if cfg.quarantine else None
    _check_request(cfg, inp, out, qdir)
    summary = ExportSummary()
    pixel_request = _pixel_request(cfg, summary.notes)
    try:
        key = ProjectKey.load_or_create(cfg.key_file)
    except Exception as exc:
        raise ExportError(f"project key: {exc}") from exc
    if not key.path:
        raise ExportError("the project key must come from a file (workers load it by path)")
    db = _open_run_db(cfg, out, settings_fingerprint(cfg, key.fingerprint, pixel_request))
    out.mkdir(parents=True, exist_ok=True)
    cleanup_temporaries(out)
    summary.run_db = db.path
    ledger = Ledger(Path(cfg.ledger) if cfg.ledger else None)
    summary.ledger_path = ledger.path
    return RunState(cfg, inp, out, qdir, str(key.path), pixel_request, db, ledger, key.fingerprint, summary,
                    emit=progress or (lambda ev: None), cancel=cancel)


def run_export(
    config: ExportConfig,
    *,
    progress: ProgressCallback | None = None,
    cancel: Callable[[], bool] | None = None,
) -> ExportSummary:
    """Export ``config.input`` into ``config.output``; see the module docstring.

    Three phases over one :class:`RunState`: plan (scan, manifest rows, what to export),
    execute (workers), finish (index, manifest, counts). A scan that is cancelled ends the run
    before anything is finished; an export that is cancelled still writes the manifest.
    """
    state = _open_run(config, progress, cancel)
    try:
        tasks = plan(state)
        if tasks is None:
            state.summary.cancelled = True
            return state.summary
        execute(state, tasks)
        return finish(state)
    finally:
        state.db.close()
        state.ledger.close()
