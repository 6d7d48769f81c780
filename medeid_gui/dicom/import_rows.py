"""Reading an image folder's spreadsheet: one CSV row -> one checked :class:`ImportEntry`.

Why a module of its own: the table's rules (which columns, how a day is keyed, which view texts
mean what, which values a DICOM element can hold) are what a site adapts to its export, and they
are pure; the run that writes files (``dicom/import_images.py``) only consumes entries.
"""

from __future__ import annotations

import csv
import datetime as _dt
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

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


@dataclass
class ImportEntry:
    """One importable CSV row, its day key and the DICOM values derived from it."""

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


def view_position(view: str) -> str:
    """The View Position for a CSV view text; '' when it cannot be a DICOM CS value."""
    v = " ".join(view.upper().split())
    if v in _VIEWS:
        return _VIEWS[v]
    v = v.replace("-", " ")
    return v if re.fullmatch(r"[A-Z0-9_ ]{1,16}", v) else ""


def lo_value(text: str, limit: int = 64) -> str:
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


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# ---- reading the table --------------------------------------------------------------------------


def read_rows(csv_path: Path) -> tuple[list[str], list[dict[str, str]]]:
    try:
        with open(csv_path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            rows = [{k: (v or "") for k, v in r.items() if k is not None} for r in reader]
            return list(reader.fieldnames or []), rows
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ImportSetupError(f"cannot read {csv_path}: {exc}") from exc


def entry_of(row_no: int, row: dict[str, str], folder: Path, opts: ImportOptions) -> ImportEntry:
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
    return ImportEntry(
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
        finding=lo_value(get("finding")),
        licence=lo_value(get("licence"), 200),
        sources=sources,
        orientation=_orientation(get("orientation")),
        body_part=lo_value(get("body_part").upper(), 16) or (opts.body_part or "").upper()[:16],
    )
