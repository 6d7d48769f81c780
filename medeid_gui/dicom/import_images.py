"""A folder of PNG/JPEG images plus a spreadsheet (CSV) -> DICOM Secondary Capture instances.

Why: many sites' research data are image exports with a CSV of patient, day and view. Converted to
DICOM they go through the same de-identification, export and training path as any archive.

Choices, and why:

* IOD: **Secondary Capture Image Storage** (1.2.840.10008.5.1.4.1.1.7). The DX/CR IODs require
  acquisition facts a PNG does not carry (imager pixel spacing, detector, exposure, presentation
  intent); writing them would be invention. SC is the IOD for images converted from non-DICOM
  sources (Conversion Type ``WSD``).
* Modality: ``DX`` by default (``--modality`` to change it). In an SC instance Modality names the
  *source* equipment; a chest radiograph is a projection X-ray and the pipeline's per-modality
  rules should treat it as one; ``OT`` would hide what it is. ``CR`` is right when the site knows
  its images are computed radiography.
* Identity: one study per (patient, acquisition day): the day is the CSV's date column, or its
  day offset; a row with neither is its own study (never merged by guess). One series per view
  within a study. Study/Series/SOP Instance UIDs are UUID-derived (``2.25.``) from SHA-256
  hashes of the input (patient, day, view and the image files' bytes), so a re-import gives the
  same UIDs and the same bytes, and two different collections do not collide.
* Pixels: the file's own values (``dicom/image_files.py``): 8-bit stays 8-bit, 16-bit stays
  16-bit, true colour stays RGB; nothing is rescaled. JPEG sources are marked Lossy Image
  Compression ``01``; PNG sources are not marked either way (many PNG exports were JPEGs once).
  Burned In Annotation is not set: exports from papers carry arrows and labels, so the OCR
  check must run.
* Provenance: the row's licence, image file name and source columns go into Image Comments as
  ``Key: value`` lines (``licence_of`` / ``image_name_of`` read them back), the converted file into Derivation
  Description, so
  later training can list the licences of the images it used.
* Orientation: Patient Orientation only from a CSV column; a PA/AP export from a paper may be
  flipped, so it is not assumed from the view.
* Robustness: a bad row or image is reported with a reason and the run goes on; an existing
  output file is never replaced unless ``force``.
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from medeid_gui.dicom.import_rows import (
    DEFAULT_COLUMNS,
    DEFAULT_SOURCE_COLUMNS,
    ImportEntry,
    ImportOptions,
    ImportSetupError,
    entry_of,
    file_sha256,
    read_rows,
    view_position,
)
from medeid_gui.dicom.sc_dataset import SECONDARY_CAPTURE, Placement, build_dataset

__all__ = [
    "DEFAULT_COLUMNS",
    "DEFAULT_SOURCE_COLUMNS",
    "SECONDARY_CAPTURE",
    "ImportOptions",
    "ImportResult",
    "ImportSetupError",
    "Outcome",
    "comment_field",
    "image_name_of",
    "import_images",
    "licence_of",
    "uid_from",
    "view_position",
    "write_report",
]

_IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif"}


@dataclass(frozen=True)
class Outcome:
    """What happened to one CSV row (``row`` is the 1-based data row; None for unlisted files)."""

    row: int | None
    image: str
    status: str  # "written", "skipped", "unlisted"
    reason: str = ""
    output: str = ""
    sop_instance_uid: str = ""
    licence: str = ""


@dataclass
class ImportResult:
    outcomes: list[Outcome]

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.outcomes)

    @property
    def written(self) -> int:
        return self.count("written")

    @property
    def skipped(self) -> int:
        return self.count("skipped")


# ---- pure helpers -------------------------------------------------------------------------------


def uid_from(*parts: object) -> str:
    """A deterministic ``2.25.`` UID (name-based UUID of the parts): same input, same UID."""
    name = "\x1f".join(str(p) for p in parts)
    return "2.25." + str(uuid.uuid5(uuid.NAMESPACE_OID, "medeid-import\x1f" + name).int)


def _safe_name(text: str) -> str:
    """A file-system-safe path component (kept readable; '_' for anything else)."""
    s = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "_"
    return s[:64]


def comment_field(ds, key: str) -> str:
    """The value of a ``Key: value`` line in an imported instance's Image Comments ('' if none)."""
    for line in str(ds.get("ImageComments", "") or "").splitlines():
        k, _, value = line.partition(":")
        if k.strip().lower() == key.lower():
            return value.strip()
    return ""


def licence_of(ds) -> str:
    """The licence an imported instance records ('not stated' when its row had none)."""
    return comment_field(ds, "License")


def image_name_of(ds) -> str:
    """The CSV image name an imported instance was made from (joins it back to its CSV row)."""
    return comment_field(ds, "Image file")


# ---- the run ------------------------------------------------------------------------------------


def _unlisted(folder: Path, listed: set[Path]) -> list[Path]:
    out = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            p = Path(root) / name
            if p.suffix.lower() in _IMAGE_SUFFIXES and p.resolve() not in listed:
                out.append(p)
    return out


def _check_setup(folder: Path, csv_path: Path, options: ImportOptions) -> list[dict[str, str]]:
    """The CSV's rows, or :class:`ImportSetupError` when nothing can be done."""
    if not folder.is_dir():
        raise ImportSetupError(f"image folder not found: {folder}")
    if not csv_path.is_file():
        raise ImportSetupError(f"CSV file not found: {csv_path}")
    if not re.fullmatch(r"[A-Z0-9_ ]{1,16}", options.modality):
        raise ImportSetupError(f"modality {options.modality!r} is not a DICOM code string (e.g. DX, CR, OT)")
    header, rows = read_rows(csv_path)
    for need in ("image", "patient"):
        col = options.columns.get(need)
        if not col or col not in header:
            raise ImportSetupError(
                f"the CSV has no {need} column {col!r} (columns: {', '.join(header)}); "
                f"name it with --column {need}=NAME"
            )
    return rows


def _read_entries(
    rows: list[dict[str, str]], folder: Path, options: ImportOptions, report: Callable[[Outcome], None]
) -> tuple[list[ImportEntry], set[Path]]:
    """The importable entries (bad rows reported as skipped) and every file a row names."""
    entries: list[ImportEntry] = []
    seen: dict[Path, int] = {}
    named: set[Path] = set()  # every file a row names, imported or not (not "unlisted")
    for i, row in enumerate(rows, start=1):
        image = (row.get(options.columns.get("image") or "") or "").strip()
        if image:
            named.add((folder / image).resolve())
        try:
            e = entry_of(i, row, folder, options)
            key = e.path.resolve()
            if key in seen:
                raise ValueError(f"image already named by row {seen[key]}")
            if not e.path.is_file():
                raise ValueError("image file not found")
            e.sha256 = file_sha256(e.path)
            seen[key] = i
        except (ValueError, OSError) as exc:
            report(Outcome(i, image, "skipped", str(exc)))
            continue
        entries.append(e)
    return entries, named


def _placements(entries: list[ImportEntry]) -> list[tuple[ImportEntry, Placement]]:
    """Study per (patient, day), series per view; input-derived UIDs; in CSV row order."""
    studies: dict[tuple[str, str], list[ImportEntry]] = {}
    for e in entries:
        studies.setdefault((e.patient_id, e.day_key), []).append(e)
    plan: list[tuple[ImportEntry, Placement]] = []
    for (pid, day), members in sorted(studies.items()):
        study_uid = uid_from("study", pid, day, *sorted(m.sha256 for m in members))
        views = sorted({m.view for m in members})
        for s_no, view in enumerate(views, start=1):
            series_uid = uid_from("series", study_uid, view)
            in_series = sorted((m for m in members if m.view == view), key=lambda m: m.image)
            for i_no, m in enumerate(in_series, start=1):
                sop_uid = uid_from("sop", series_uid, m.image, m.sha256)
                plan.append((m, Placement(study_uid, series_uid, sop_uid, s_no, i_no)))
    plan.sort(key=lambda t: t[0].row)
    return plan


def _target(out: Path, e: ImportEntry, place: Placement, used: set[Path]) -> Path:
    """``out/<patient>/<day>/<NN>_<view>/<image stem>.dcm``, made unique when stems collide."""
    folder_out = (
        out / _safe_name(e.patient_id) / _safe_name(e.day_label) / f"{place.series_number:02d}_"
        f"{_safe_name(e.view or 'view')}"
    )
    stem = _safe_name(Path(e.image).stem)
    target = folder_out / (stem + ".dcm")
    if target in used:  # same stem from another subfolder, or ids equal once made file-safe
        target = folder_out / f"{stem}_{hashlib.sha256(place.sop_uid.encode()).hexdigest()[:8]}.dcm"
    used.add(target)
    return target


def _write_one(e: ImportEntry, place: Placement, target: Path, options: ImportOptions) -> Outcome:
    """Read, convert and atomically write one entry; a problem is the outcome's reason."""
    from medeid_gui.dicom.image_files import ImageFileError, read_image_file
    from medeid_gui.dicom.write import DicomWriteError, write_atomic

    base = Outcome(e.row, e.image, "skipped", output=str(target), licence=e.licence)
    if target.exists() and not options.force:
        return replace(base, reason="output file exists (use --force to replace it)")
    try:
        img = read_image_file(e.path)
    except ImageFileError as exc:
        return replace(base, reason=exc.reason)
    ds = build_dataset(
        e, img.pixels, fmt=img.format, lossy=img.lossy_source, place=place, modality=options.modality
    )
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(ds, target)
    except (DicomWriteError, OSError) as exc:
        return replace(base, reason=f"cannot write: {getattr(exc, 'reason', exc)}")
    return replace(base, status="written", reason="; ".join(img.notes), sop_instance_uid=place.sop_uid)


def import_images(
    folder: str | os.PathLike[str],
    csv_path: str | os.PathLike[str],
    out: str | os.PathLike[str],
    options: ImportOptions = ImportOptions(),
    progress: Callable[[Outcome], None] | None = None,
) -> ImportResult:
    """Convert every CSV row's image under ``folder`` into a DICOM file under ``out``.

    Layout: ``out/<patient>/<day>/<NN>_<view>/<image stem>.dcm``. Raises
    :class:`ImportSetupError` only when nothing can be done (folder/CSV missing, required
    columns absent); every per-row problem becomes an :class:`Outcome` with status
    ``skipped`` and a reason. Images in ``folder`` that no row names are listed as ``unlisted``.
    """
    folder, csv_path, out = Path(folder), Path(csv_path), Path(out)
    rows = _check_setup(folder, csv_path, options)
    outcomes: list[Outcome] = []

    def report(o: Outcome) -> None:
        outcomes.append(o)
        if progress:
            progress(o)

    entries, named = _read_entries(rows, folder, options, report)
    used: set[Path] = set()
    for e, place in _placements(entries):
        report(_write_one(e, place, _target(out, e, place, used), options))
    for p in _unlisted(folder, named):
        report(Outcome(None, str(p.relative_to(folder)), "unlisted", "no CSV row names this image"))
    return ImportResult(outcomes)


def write_report(result: ImportResult, path: str | os.PathLike[str]) -> None:
    """One CSV line per outcome (row, image, status, reason, output, UID, licence)."""
    fields = ("row", "image", "status", "reason", "output", "sop_instance_uid", "licence")
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(fields)
        for o in result.outcomes:
            w.writerow(["" if getattr(o, f) is None else getattr(o, f) for f in fields])
