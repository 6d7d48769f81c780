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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medeid_gui.export.atomic import OutputWriteError, write_bytes_atomic
from medeid_gui.export.layout import dicom_relpath, safe_component

#: ``process`` result statuses (the run database adds ``skipped``/``quarantined``)
OK, FAIL, SKIP = "exported", "failed", "skipped"


@dataclass(frozen=True)
class WorkerSetup:
    """Everything a process needs, picklable (the key travels as a file path, not bytes)."""

    deid_config: Any
    key_file: str
    out_root: str
    fmt: str = "dicom"
    pixel_request: Any = None  # a medeid_gui.pixels.clean.PixelRequest, or None (header only)
    privacy_by_series: tuple[tuple[str, float], ...] = ()  # (original SeriesInstanceUID, p)


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
    meta: list[dict[str, Any]] | None = None  # one row per frame for --format png/npy
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


def linkage_pairs(linkage: Any) -> list[tuple[str, str, str]]:
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
    try:
        return _process(task)
    except BaseException as exc:  # noqa: BLE001 - one file never stops the run
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        res = FileResult(task.path, FAIL, _explain_exception(exc))
        if os.environ.get("MEDEID_DEBUG"):
            res.notes.append(traceback.format_exc())
        return res


def _process(task: Task) -> FileResult:
    from medeid_gui.dicom.read import DicomReadError, read_dataset

    setup: WorkerSetup = _STATE["setup"]
    res = FileResult(task.path, FAIL)
    data = _read_bytes(task.path)
    res.sha256 = hashlib.sha256(data).hexdigest() if data is not None else _sha256_file(task.path)
    stage = "read"
    try:
        ds = read_dataset(task.path, data=data)
        stage = "pixel"
        pixels_cleaned = visual_cleaned = False
        if setup.pixel_request is not None:
            from medeid_gui.pixels.clean import clean_pixels  # lazily: pulls in ml/ (torch)

            request = setup.pixel_request
            if setup.privacy_by_series:  # a level chosen for this series in the viewer
                level = dict(setup.privacy_by_series).get(str(ds.get("SeriesInstanceUID", "") or ""))
                if level is not None and level != request.privacy:
                    import dataclasses

                    request = dataclasses.replace(request, privacy=level)
            report = clean_pixels(ds, request)
            pixels_cleaned = bool(getattr(report, "pixels_cleaned", False))
            visual_cleaned = bool(getattr(report, "visual_features_cleaned", False))
            res.notes.extend(str(n) for n in getattr(report, "notes", []) or [])
        stage = "deid"
        result = _STATE["deid"].deidentify(ds, pixels_cleaned=pixels_cleaned, visual_features_cleaned=visual_cleaned,
                                           keep_actions=False)
        out_ds = getattr(result, "dataset", ds)
        res.linkage = linkage_pairs(getattr(result, "linkage", None))
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
                return res
            res.output, res.output_sha256, res.meta = rel, sha, rows
    except DicomReadError as exc:
        res.reason = exc.reason
        return res
    except OutputWriteError as exc:
        res.reason = f"cannot write output: {exc.reason}"
        return res
    except Exception as exc:  # noqa: BLE001
        prefix = {
            "read": "cannot read",
            "pixel": "pixel de-identification failed",
            "deid": "header de-identification failed",
            "encode": "cannot encode the de-identified file",
            "write": "cannot write output",
        }[stage]
        if stage in ("write",) or not isinstance(exc, OSError):
            why = _explain_exception(exc)
        else:  # pydicom raises OSError subclasses for encoding problems: not an I/O failure
            why = f"{type(exc).__name__}: {(str(exc).strip().splitlines() or [''])[0][:300]}"
        res.reason = f"{prefix}: {why}"
        if os.environ.get("MEDEID_DEBUG"):
            res.notes.append(traceback.format_exc())
        return res
    res.status = OK
    return res


__all__ = ["WorkerSetup", "Task", "FileResult", "init_worker", "process", "linkage_pairs", "safe_component"]
