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
import datetime as _dt
import hashlib
import os
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

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
    "view_position",
    "write_report",
]

SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"

#: field -> default CSV column (the names used by the COVID-19 image data collection's CSV)
DEFAULT_COLUMNS: dict[str, str] = {
    "image": "image",
    "patient": "patientid",
    "offset": "offset",  # days since the patient's first image
    "date": "date",  # an acquisition date (YYYY-MM-DD or YYYYMMDD); wins over the offset
    "view": "view",
    "sex": "sex",
    "age": "age",
    "finding": "finding",
    "licence": "license",
    "orientation": "orientation",  # Patient Orientation, e.g. "L\\F" or "L F"
    "body_part": "body_part",
}
#: columns copied into Image Comments as provenance (those present in the CSV)
DEFAULT_SOURCE_COLUMNS: tuple[str, ...] = ("source_filename", "doi", "url")

_IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif"}

#: CSV view text (upper case) -> View Position (0018,5101); others pass through if valid CS
_VIEWS = {
    "PA": "PA",
    "AP": "AP",
    "AP SUPINE": "AP",
    "AP ERECT": "AP",
    "AP SEMI ERECT": "AP",
    "L": "LATERAL",
    "LAT": "LATERAL",
    "LATERAL": "LATERAL",
    "LL": "LL",
    "RL": "RL",
}


class ImportSetupError(Exception):
    """The run cannot start (missing folder, CSV or required column); no file was written."""


@dataclass(frozen=True)
class ImportOptions:
    """How to read the CSV and what to write; defaults fit the real CXR set's metadata.csv."""

    columns: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_COLUMNS))
    source_columns: tuple[str, ...] = DEFAULT_SOURCE_COLUMNS
    modality: str = "DX"
    body_part: str | None = None  # Body Part Examined for every row without a body_part column value
    base_date: _dt.date | None = None  # with an offset column: StudyDate = base_date + offset days
    force: bool = False


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


@dataclass
class _Entry:
    row: int
    image: str
    path: Path
    patient_id: str
    day_key: str
    day_label: str
    study_date: str
    view: str
    view_position: str
    sex: str
    age: str
    finding: str
    licence: str
    sources: dict[str, str]
    orientation: list[str]
    body_part: str
    sha256: str = ""


# ---- pure helpers -------------------------------------------------------------------------------


def uid_from(*parts: object) -> str:
    """A deterministic ``2.25.`` UID (name-based UUID of the parts): same input, same UID."""
    name = "\x1f".join(str(p) for p in parts)
    return "2.25." + str(uuid.uuid5(uuid.NAMESPACE_OID, "medeid-import\x1f" + name).int)


def view_position(view: str) -> str:
    """The View Position for a CSV view text; '' when it cannot be a DICOM CS value."""
    v = " ".join(view.upper().split())
    if v in _VIEWS:
        return _VIEWS[v]
    v = v.replace("-", " ")
    return v if re.fullmatch(r"[A-Z0-9_ ]{1,16}", v) else ""


def _safe_name(text: str) -> str:
    """A file-system-safe path component (kept readable; '_' for anything else)."""
    s = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "_"
    return s[:64]


def _lo(text: str, limit: int = 64) -> str:
    """A value fit for an LO/SH element: no backslash or control characters, at most ``limit``."""
    return re.sub(r"[\\\x00-\x1f]", " ", text).strip()[:limit]


def _parse_age(text: str) -> str:
    t = text.strip()
    if not t:
        return ""
    try:
        years = float(t)
    except ValueError:
        return t.upper() if re.fullmatch(r"\d{3}[DWMY]", t.upper()) else ""
    if not 0 <= years < 1000:
        return ""
    return f"{int(years):03d}Y"


def _parse_sex(text: str) -> str:
    t = text.strip().upper()
    return {"M": "M", "MALE": "M", "F": "F", "FEMALE": "F", "O": "O", "OTHER": "O"}.get(t, "")


def _parse_date(text: str) -> _dt.date | None:
    t = text.strip()
    for fmt in ("%Y-%m-%d", "%Y%m%d", "%Y/%m/%d"):
        try:
            return _dt.datetime.strptime(t, fmt).date()
        except ValueError:
            continue
    return None


def _parse_offset(text: str) -> int | None:
    t = text.strip()
    if not t:
        return None
    try:
        f = float(t)
    except ValueError:
        return None
    return int(f) if f == int(f) else None


def _orientation(text: str) -> list[str]:
    parts = [p for p in re.split(r"[\\ ,]+", text.strip().upper()) if p]
    if len(parts) == 2 and all(re.fullmatch(r"[APRLHF]{1,3}", p) for p in parts):
        return parts
    return []


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


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# ---- reading the table --------------------------------------------------------------------------


def _read_rows(csv_path: Path) -> tuple[list[str], list[dict[str, str]]]:
    try:
        with open(csv_path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            rows = [{k: (v or "") for k, v in r.items() if k is not None} for r in reader]
            return list(reader.fieldnames or []), rows
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ImportSetupError(f"cannot read {csv_path}: {exc}") from exc


def _entry(row_no: int, row: dict[str, str], folder: Path, opts: ImportOptions) -> _Entry:
    """One CSV row as an entry; ValueError with the reason when the row cannot be imported."""
    cols = opts.columns

    def get(name: str) -> str:
        col = cols.get(name) or ""
        return (row.get(col) or "").strip() if col else ""

    image = get("image")
    if not image:
        raise ValueError("no image file name")
    path = Path(image) if Path(image).is_absolute() else folder / image
    pid = get("patient")
    if not pid:
        raise ValueError("no patient id")
    if len(pid) > 64 or re.search(r"[\\\x00-\x1f]", pid):
        raise ValueError("patient id is longer than 64 characters or holds a backslash/control character")
    date = _parse_date(get("date")) if get("date") else None
    if get("date") and date is None:
        raise ValueError(f"date {get('date')!r} is not YYYY-MM-DD or YYYYMMDD")
    offset = _parse_offset(get("offset"))
    if get("offset") and offset is None:
        raise ValueError(f"day offset {get('offset')!r} is not a whole number of days")
    if date is not None:
        day_key, label = f"date:{date:%Y%m%d}", f"{date:%Y%m%d}"
    elif offset is not None:
        day_key, label = f"day:{offset}", f"day{offset}"
        if opts.base_date is not None:
            date = opts.base_date + _dt.timedelta(days=offset)
    else:  # unknown day: its own study
        day_key, label = f"row:{row_no}", f"row{row_no}"
    view = " ".join(get("view").split())
    sources = {c: (row.get(c) or "").strip() for c in opts.source_columns if (row.get(c) or "").strip()}
    return _Entry(
        row=row_no,
        image=image,
        path=path,
        patient_id=pid,
        day_key=day_key,
        day_label=label,
        study_date=f"{date:%Y%m%d}" if date else "",
        view=view,
        view_position=view_position(view),
        sex=_parse_sex(get("sex")),
        age=_parse_age(get("age")),
        finding=_lo(get("finding")),
        licence=_lo(get("licence"), 200),
        sources=sources,
        orientation=_orientation(get("orientation")),
        body_part=_lo(get("body_part").upper(), 16) or (opts.body_part or "").upper()[:16],
    )


# ---- building the dataset -----------------------------------------------------------------------


def build_dataset(
    e: _Entry,
    pixels: np.ndarray,
    *,
    fmt: str,
    lossy: bool,
    study_uid: str,
    series_uid: str,
    sop_uid: str,
    series_number: int,
    instance_number: int,
    modality: str,
):
    """The Secondary Capture dataset for one entry (pure: no file access)."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian

    ds = Dataset()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SECONDARY_CAPTURE
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.ImageType = ["DERIVED", "SECONDARY"]
    ds.SOPClassUID = SECONDARY_CAPTURE
    ds.SOPInstanceUID = sop_uid
    ds.StudyDate = e.study_date
    ds.StudyTime = ""
    if e.study_date:
        ds.SeriesDate = ds.ContentDate = e.study_date
    ds.AccessionNumber = ""
    ds.Modality = modality
    ds.ConversionType = "WSD"
    ds.ReferringPhysicianName = ""
    ds.StudyDescription = f"Imported images, {e.day_label if not e.day_label.startswith('row') else 'day unknown'}"
    ds.SeriesDescription = _lo(e.view) or "view unknown"
    if e.finding:
        ds.AdmittingDiagnosesDescription = [e.finding]
    ds.PatientName = ""
    ds.PatientID = e.patient_id
    ds.PatientBirthDate = ""
    ds.PatientSex = e.sex
    if e.age:
        ds.PatientAge = e.age
    if e.body_part:
        ds.BodyPartExamined = e.body_part
    if e.view_position:
        ds.ViewPosition = e.view_position
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.StudyID = e.day_label[:16] if not e.day_label.startswith("row") else ""
    ds.SeriesNumber = series_number
    ds.InstanceNumber = instance_number
    ds.PatientOrientation = e.orientation or ""
    lines = [f"License: {e.licence or 'not stated'}", f"Image file: {e.image}"]
    lines += [f"{k}: {v}" for k, v in e.sources.items()]
    ds.ImageComments = "\r\n".join(_lo(line, 1000) for line in lines)
    ds.DerivationDescription = (
        f"Converted from {fmt} file {e.path.name} (sha256 {e.sha256[:16]}) by medeid import-images"[:1024]
    )
    if lossy:
        ds.LossyImageCompression = "01"
        if fmt.upper() in {"JPEG", "MPO"}:
            ds.LossyImageCompressionMethod = "ISO_10918_1"
    if pixels.ndim == 3:
        ds.SamplesPerPixel = 3
        ds.PhotometricInterpretation = "RGB"
        ds.PlanarConfiguration = 0
    else:
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
    bits = 16 if pixels.dtype == np.uint16 else 8
    ds.Rows, ds.Columns = int(pixels.shape[0]), int(pixels.shape[1])
    ds.BitsAllocated = ds.BitsStored = bits
    ds.HighBit = bits - 1
    ds.PixelRepresentation = 0
    data = np.ascontiguousarray(pixels.astype("<u2" if bits == 16 else np.uint8)).tobytes()
    if len(data) % 2:
        data += b"\x00"
    ds.PixelData = data
    ds["PixelData"].VR = "OW" if bits == 16 else "OB"
    return ds


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
    from medeid_gui.dicom.image_files import ImageFileError, read_image_file
    from medeid_gui.dicom.write import DicomWriteError, write_atomic

    folder, csv_path, out = Path(folder), Path(csv_path), Path(out)
    if not folder.is_dir():
        raise ImportSetupError(f"image folder not found: {folder}")
    if not csv_path.is_file():
        raise ImportSetupError(f"CSV file not found: {csv_path}")
    if not re.fullmatch(r"[A-Z0-9_ ]{1,16}", options.modality):
        raise ImportSetupError(f"modality {options.modality!r} is not a DICOM code string (e.g. DX, CR, OT)")
    header, rows = _read_rows(csv_path)
    for need in ("image", "patient"):
        col = options.columns.get(need)
        if not col or col not in header:
            raise ImportSetupError(
                f"the CSV has no {need} column {col!r} (columns: {', '.join(header)}); "
                f"name it with --column {need}=NAME"
            )
    outcomes: list[Outcome] = []

    def report(o: Outcome) -> None:
        outcomes.append(o)
        if progress:
            progress(o)

    entries: list[_Entry] = []
    seen: dict[Path, int] = {}
    named: set[Path] = set()  # every file a row names, imported or not (not "unlisted")
    for i, row in enumerate(rows, start=1):
        image = (row.get(options.columns.get("image") or "") or "").strip()
        if image:
            named.add((folder / image).resolve())
        try:
            e = _entry(i, row, folder, options)
            key = e.path.resolve()
            if key in seen:
                raise ValueError(f"image already named by row {seen[key]}")
            if not e.path.is_file():
                raise ValueError("image file not found")
            e.sha256 = _file_sha256(e.path)
            seen[key] = i
        except (ValueError, OSError) as exc:
            report(Outcome(i, image, "skipped", str(exc)))
            continue
        entries.append(e)

    # group: study per (patient, day), series per view; order is deterministic
    studies: dict[tuple[str, str], list[_Entry]] = {}
    for e in entries:
        studies.setdefault((e.patient_id, e.day_key), []).append(e)
    plan: list[tuple[_Entry, str, str, str, int, int]] = []
    for (pid, day), members in sorted(studies.items()):
        study_uid = uid_from("study", pid, day, *sorted(m.sha256 for m in members))
        views = sorted({m.view for m in members})
        for s_no, view in enumerate(views, start=1):
            series_uid = uid_from("series", study_uid, view)
            in_series = sorted((m for m in members if m.view == view), key=lambda m: m.image)
            for i_no, m in enumerate(in_series, start=1):
                sop_uid = uid_from("sop", series_uid, m.image, m.sha256)
                plan.append((m, study_uid, series_uid, sop_uid, s_no, i_no))
    plan.sort(key=lambda t: t[0].row)

    used: set[Path] = set()
    for e, study_uid, series_uid, sop_uid, s_no, i_no in plan:
        folder_out = (
            out / _safe_name(e.patient_id) / _safe_name(e.day_label) / f"{s_no:02d}_{_safe_name(e.view or 'view')}"
        )
        stem = _safe_name(Path(e.image).stem)
        target = folder_out / (stem + ".dcm")
        if target in used:  # same stem from another subfolder, or ids equal once made file-safe
            target = folder_out / f"{stem}_{hashlib.sha256(sop_uid.encode()).hexdigest()[:8]}.dcm"
        used.add(target)
        base = Outcome(e.row, e.image, "skipped", output=str(target), licence=e.licence)
        if target.exists() and not options.force:
            report(_replace(base, reason="output file exists (use --force to replace it)"))
            continue
        try:
            img = read_image_file(e.path)
        except ImageFileError as exc:
            report(_replace(base, reason=exc.reason))
            continue
        ds = build_dataset(
            e,
            img.pixels,
            fmt=img.format,
            lossy=img.lossy_source,
            study_uid=study_uid,
            series_uid=series_uid,
            sop_uid=sop_uid,
            series_number=s_no,
            instance_number=i_no,
            modality=options.modality,
        )
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(ds, target)
        except (DicomWriteError, OSError) as exc:
            report(_replace(base, reason=f"cannot write: {getattr(exc, 'reason', exc)}"))
            continue
        note = "; ".join(img.notes)
        report(_replace(base, status="written", reason=note, sop_instance_uid=sop_uid))

    for p in _unlisted(folder, named):
        report(Outcome(None, str(p.relative_to(folder)), "unlisted", "no CSV row names this image"))
    return ImportResult(outcomes)


def _replace(o: Outcome, **changes) -> Outcome:
    from dataclasses import replace

    return replace(o, **changes)


def write_report(result: ImportResult, path: str | os.PathLike[str]) -> None:
    """One CSV line per outcome (row, image, status, reason, output, UID, licence)."""
    fields = ("row", "image", "status", "reason", "output", "sop_instance_uid", "licence")
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(fields)
        for o in result.outcomes:
            w.writerow(["" if getattr(o, f) is None else getattr(o, f) for f in fields])
