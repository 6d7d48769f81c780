"""Burned-in text benchmark cases: realistic patient overlays on real images, with ground truth.

Why our own: the issue's studies cannot leave the hospital, and public sets with burned-in PHI
do not say which pixels are which value.  Here every case is a real image that installs offline
(pydicom-data radiographs, pydicom's CT and MR, deid-data's ultrasound) with an invented patient
written into the header *and* burned into the pixels the way consoles and PACS do it: a label
block at a corner (some on a dark band), a name and date straight over the anatomy, white and
black text, several font sizes and fonts, dates in the common written forms, names as
``LAST FIRST``/``Last, First``/``LAST^FIRST``, IDs with separators or leading zeros, an age, the
sex, an accession number and a long institution name wrapped over three lines; plus clinical text
that is not PHI (markers, technique) that ``auto`` must keep.

Each case keeps, per drawn string, its glyph mask; PHI values are scored, labels and clinical
text only count as "text" (not collateral, not a false region in ``all``).  Text that the base
images carry themselves (the lead "R" marker of RG3) was boxed by hand, by eye, in
``native_text.json`` and counts as text the same way (``native_items``), never as PHI: ``all``
means "remove all text", so its ground truth is every string in the image, drawn or native.

Bases: large radiographs are resampled to about 1000 pixels (the size of the issue's CR; text
sizes are chosen relative to the frame).  The ultrasound's own banner and labels are blanked
first (found with the full OCR) so that the only text is the one whose truth we know.
"""

from __future__ import annotations

import copy
import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pydicom
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset

from medeid_gui.dicom.pixelwrite import decode_stored, replace_frames
from medeid_gui.pixels.burned_in import display_black
from medeid_gui.pixels.text_overlay import display_white, draw_text

__all__ = ["Item", "Case", "cases", "base_images"]

FIRST = ["John", "Maria", "Ahmed", "Chen", "Olga", "Pierre", "Fatima", "Liam", "Sofia", "Kenji", "Amara", "Lucas"]
LAST = ["Smith", "Kowalski", "Okafor", "Lindqvist", "Moreau", "Hernandez", "Tanaka", "Brennan", "Novak", "Haddad",
        "Fitzgerald", "Castellano"]
INSTITUTIONS = [
    "Northfield Regional Medical Center for Women and Children",
    "Saint Brigid University Hospital of Westmoor County",
    "Lakeshore Valley General Hospital Imaging Department",
    "Harborview Memorial Clinic and Diagnostic Institute",
]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


@dataclass
class Item:
    """One drawn string: ``key`` names the value (``PatientName`` ...) or ``label``/``clinical``."""

    key: str
    text: str
    phi: bool
    mask: np.ndarray
    box: tuple[int, int, int, int]


@dataclass
class Case:
    name: str
    ds: Dataset  # header with the invented patient, Pixel Data with the overlays
    items: list[Item] = field(default_factory=list)


def date_forms(d: dt.date) -> list[str]:
    """The written forms of a date seen on overlays."""
    m = MONTHS[d.month - 1]
    return [
        f"{d:%m/%d/%Y}", f"{d:%d.%m.%Y}", f"{d:%Y-%m-%d}", f"{d.year} {m} {d.day:02}", f"{d.day:02}-{m}-{d.year}",
        f"{m} {d.day}, {d.year}", f"{d:%Y%m%d}", f"{d:%d/%m/%Y}", f"{d.day} {m.upper()} {d.year}",
    ]


def name_forms(first: str, last: str) -> list[str]:
    return [f"{last.upper()} {first.upper()}", f"{last}, {first}", f"{last.upper()}^{first.upper()}",
            f"{first} {last}", f"{last.upper()},{first.upper()}"]


def wrap(text: str, lines: int = 3) -> list[str]:
    words = text.split()
    per = -(-len(words) // lines)
    return [" ".join(words[i : i + per]) for i in range(0, len(words), per)]


def _resample(frame: np.ndarray, rows: int, cols: int) -> np.ndarray:
    from scipy.ndimage import zoom

    out = zoom(frame.astype(np.float32), (rows / frame.shape[0], cols / frame.shape[1]), order=1)
    return np.rint(out).astype(frame.dtype)


def _with_frame(ds: Dataset, frame: np.ndarray) -> Dataset:
    replace_frames(ds, frame[np.newaxis], stored=True)
    return ds


def base_images(ocr=None) -> Iterator[tuple[str, Dataset]]:
    """(name, dataset) for each base image, pixels decoded, resampled and cleaned of prior text."""
    rg1 = pydicom.dcmread(get_testdata_file("RG1_UNCR.dcm"))
    f = decode_stored(rg1)[0]
    c0 = (f.shape[1] - 1610) // 2
    yield "CR-MONO1-972x800", _with_frame(rg1, _resample(f[:, c0 : c0 + 1610], 972, 800))
    rg3 = pydicom.dcmread(get_testdata_file("RG3_UNCR.dcm"))
    f3 = _resample(decode_stored(rg3)[0], 880, 880)
    yield "CR-MONO1-880", _with_frame(rg3, f3.copy())
    dx = pydicom.dcmread(get_testdata_file("RG3_UNCR.dcm"))
    dx.Modality, dx.PhotometricInterpretation = "DX", "MONOCHROME2"
    hi = 2 ** int(dx.BitsStored) - 1
    dx.WindowCenter, dx.WindowWidth = hi - float(rg3.WindowCenter), float(rg3.WindowWidth)
    yield "DX-MONO2-880", _with_frame(dx, (hi - f3).astype(f3.dtype))
    mg = pydicom.dcmread(get_testdata_file("RG1_UNCR.dcm"))
    mg.Modality = "MG"
    yield "MG-MONO1-1000", _with_frame(mg, _resample(decode_stored(mg)[0], 1000, 942))
    yield "CT-512", pydicom.dcmread(get_testdata_file("693_UNCR.dcm"))
    ct = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    yield "CT-small-384", _with_frame(ct, _resample(decode_stored(ct)[0], 384, 384))
    mr = pydicom.dcmread(get_testdata_file("MR-SIEMENS-DICOM-WithOverlays.dcm"))
    yield "MR-484", mr
    try:
        from pathlib import Path

        import deid_data

        us = pydicom.dcmread(Path(deid_data.__file__).parent / "data" / "ultrasounds" / "RGB_IMAGE.dcm")
    except ImportError:  # pragma: no cover - optional corpus
        return
    frames = decode_stored(us)
    if ocr is not None:  # blank the image's own text so only ours has a known truth
        from medeid_gui.pixels.ocr import to_uint8

        for b in ocr.detect(to_uint8(frames[0])):
            frames[0, max(0, b.y0 - 3) : b.y1 + 3, max(0, b.x0 - 3) : b.x1 + 3] = 0
    yield "US-RGB", _with_frame(us, frames[0])


def _patient(rng: random.Random) -> dict[str, object]:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    dob = dt.date(rng.randint(1935, 2005), rng.randint(1, 12), rng.randint(1, 28))
    study = dt.date(rng.randint(2008, 2024), rng.randint(1, 12), rng.randint(1, 28))
    pid = str(rng.randint(10**5, 10**8))
    return {
        "first": first,
        "last": last,
        "dob": dob,
        "study": study,
        "pid": pid.zfill(9) if rng.random() < 0.5 else pid,
        "acc": f"A{rng.randint(10**6, 10**8)}",
        "sex": rng.choice("MF"),
        "inst": rng.choice(INSTITUTIONS),
        "age": (study - dob).days // 365,
    }


def _set_header(ds: Dataset, p: dict[str, object]) -> None:
    ds.PatientName = f"{p['last']}^{p['first']}"
    ds.PatientID = str(p["pid"])
    ds.PatientBirthDate = f"{p['dob']:%Y%m%d}"
    ds.StudyDate = f"{p['study']:%Y%m%d}"
    ds.AccessionNumber = str(p["acc"])
    ds.PatientSex = str(p["sex"])
    ds.PatientAge = f"{p['age']:03}Y"
    ds.InstitutionName = str(p["inst"])


def make_case(name: str, base: Dataset, variant: int, seed: int = 0) -> Case:
    """One case: ``base`` (a copy is made) with an invented patient's overlay, variant 0..3:
    0 white text, corner block on a dark band; 1 black text over the image; 2 large white text;
    3 small white text in another font."""
    rng = random.Random(f"{name}:{variant}:{seed}")
    ds = copy.deepcopy(base)
    p = _patient(rng)
    _set_header(ds, p)
    frame = decode_stored(ds)[0].copy()
    photo = str(ds.PhotometricInterpretation)
    rows, cols = frame.shape[:2]
    white, black = display_white(frame, photo), display_black(ds, frame[np.newaxis])
    colour = black if variant == 1 else white
    size = max(10, int(rows * (0.018, 0.022, 0.032, 0.015)[variant]))
    font = variant % 2 + (2 if variant == 3 else 0)
    step = int(size * 1.35)
    case = Case(f"{name}/v{variant}", ds)

    def put(x: int, y: int, text: str, key: str, phi: bool, value: object = colour, s: int = size) -> int:
        d = draw_text(frame, text, x, y, s, value, font)
        if d.mask.any():  # text drawn in the value the frame already has there is not in the data
            case.items.append(Item(key, text, phi, d.mask, d.box))
        return int(x + 0.6 * s * len(text)) if not d.mask.any() else d.box[2]

    def field_line(x: int, y: int, label: str, text: str, key: str) -> None:
        end = put(x, y, label, "label", False) if label else x - size // 2
        put(end + size // 2, y, text, key, True)

    x, y = int(cols * 0.02), int(rows * 0.02)
    if variant == 0:  # a dark band behind the left block
        frame[y - 2 : y + 5 * step + 4, x - 2 : x + int(cols * 0.45)] = black
    if variant == 1:  # black text: light bands behind both corner blocks, as some PACS draw them
        frame[y - 2 : y + 5 * step + 4, x - 2 : x + int(cols * 0.45)] = white
        frame[y - 2 : y + 5 * step + 4, int(cols * 0.55) - 2 :] = white
    first, last = str(p["first"]), str(p["last"])
    names = name_forms(first, last)
    dob_forms, study_forms = date_forms(p["dob"]), date_forms(p["study"])  # type: ignore[arg-type]
    pid = str(p["pid"])
    pid_text = pid if variant % 2 == 0 else f"{pid[:3]}-{pid[3:6]}-{pid[6:]}"
    field_line(x, y, rng.choice(["Name:", "Patient:", "Pt Name:", ""]), rng.choice(names), "PatientName")
    field_line(x, y + step, rng.choice(["ID:", "MRN:", "Patient ID:"]), pid_text, "PatientID")
    field_line(x, y + 2 * step, rng.choice(["DOB:", "Birth:", "D.O.B."]), rng.choice(dob_forms), "PatientBirthDate")
    field_line(
        x,
        y + 3 * step,
        rng.choice(["Age:", ""]),
        rng.choice([f"{p['age']:03}Y", f"{p['age']}Y", f"{p['age']} yrs"]),
        "PatientAge",
    )
    field_line(x, y + 4 * step, "Sex:", str(p["sex"]), "PatientSex")
    # top right: study date, accession, institution wrapped over three lines
    xr = int(cols * 0.55)
    field_line(xr, y, rng.choice(["Study Date:", "Date:", ""]), rng.choice(study_forms), "StudyDate")
    field_line(xr, y + step, rng.choice(["Acc:", "Accession:", "ACC#"]), str(p["acc"]), "AccessionNumber")
    for k, line in enumerate(wrap(str(p["inst"]), 3)):
        put(xr, y + (2 + k) * step, line, "InstitutionName", True)
    # straight over the anatomy: the name and a date, no band, no label
    cx, cy = int(cols * rng.uniform(0.25, 0.45)), int(rows * rng.uniform(0.40, 0.55))
    put(cx, cy, rng.choice(names), "PatientName", True)
    put(cx, cy + step, rng.choice(study_forms), "StudyDate", True)
    # clinical text that is not PHI
    yb = rows - int(rows * 0.03) - 2 * step
    put(x, yb, rng.choice(["PA ERECT", "AP SUPINE", "PORTABLE", "AXIAL", "LATERAL"]), "clinical", False)
    put(x, yb + step, rng.choice(["kVp 80 mAs 4", "W 400 L 40", "SL 5.0 mm", "TR 500 TE 15"]), "clinical", False)
    put(int(cols * 0.88), int(rows * 0.5), rng.choice(["L", "R"]), "clinical", False, white, int(size * 1.6))
    _with_frame(ds, frame)
    return case


def native_items(name: str, rows: int, cols: int) -> list[Item]:
    """The text already in base image ``name`` (``native_text.json``, boxed by hand), as items
    that count as text, never as PHI: ground truth for ``all`` and never collateral."""
    import json
    from pathlib import Path

    data = json.loads(Path(__file__).with_name("native_text.json").read_text(encoding="utf-8"))
    out = []
    for entry in data.get(name, []):
        x0, y0, x1, y1 = (int(v) for v in entry["box"])
        mask = np.zeros((rows, cols), bool)
        mask[y0:y1, x0:x1] = True
        out.append(Item("native", str(entry["what"]), False, mask, (x0, y0, x1, y1)))
    return out


def cases(variants: int = 4, seed: int = 0, ocr=None) -> Iterator[Case]:
    """All benchmark cases: every base image times ``variants`` overlay variants, each with the
    base's own text (``native_items``) among its items."""
    for name, base in base_images(ocr):
        for v in range(variants):
            case = make_case(name, base, v, seed)
            case.items += native_items(name, int(case.ds.Rows), int(case.ds.Columns))
            yield case
