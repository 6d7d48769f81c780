"""Find DICOM instances under folders, by content, DICOMDIR-aware, never stopping at one bad file.

Why by content: PACS exports, CDs and scanner dumps name files ``IM000001``, ``1.2.840…``,
``image`` or ``x.dcm.bak``; extensions mean nothing. A file is a candidate when it starts with the
128-byte preamble + ``DICM`` or, without a preamble, with a plausible group 0002/0008 element
(:func:`medeid_gui.dicom.read.sniff`); only then is it parsed (headers only, never pixels).

Why DICOMDIR-aware: on media the DICOMDIR is the index, not an image; it must not be exported
as an instance, and the files it references must be found even when their names are odd
(no extension, upper case on a case-sensitive file system) or they live outside the folders given.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Union

from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset

from .media_paths import resolve_file_id
from .quickscan import quick_header
from .read import DicomReadError, read_dataset, read_partial_header, safe_value

__all__ = ["InstanceRef", "Rejected", "Discovery", "discover", "instance_ref", "MEDIA_STORAGE_DIRECTORY"]

#: SOP Class UID of a DICOMDIR (Media Storage Directory Storage).
MEDIA_STORAGE_DIRECTORY = "1.2.840.10008.1.3.10"

PathLike = Union[str, "os.PathLike[str]"]


@dataclass(frozen=True)
class InstanceRef:
    """What the GUI tree, the grouping and the export plan need to know about one file.

    Built from the header only; strings are "" and numbers ``None`` when the file lacks them.
    """

    path: Path
    size: int
    patient_id: str
    patient_name: str
    study_uid: str
    study_date: str
    study_description: str
    series_uid: str
    series_number: int | None
    series_description: str
    modality: str
    sop_class_uid: str
    sop_instance_uid: str
    instance_number: int | None
    number_of_frames: int
    rows: int
    columns: int
    has_pixels: bool
    transfer_syntax: str
    # extensions (not part of the contract's minimum)
    study_time: str = ""
    study_id: str = ""
    accession_number: str = ""
    series_date: str = ""
    series_time: str = ""
    patient_birth_date: str = ""
    patient_sex: str = ""
    photometric_interpretation: str = ""
    has_preamble: bool = True

    @property
    def sop_class_name(self) -> str:
        """Human name of the SOP class, e.g. "CT Image Storage" ("" when unknown)."""
        from pydicom.uid import UID

        try:
            name = UID(self.sop_class_uid).name
        except Exception:  # noqa: BLE001 - an unknown or malformed UID has no name
            return ""
        return "" if name == self.sop_class_uid else name


@dataclass(frozen=True)
class Rejected:
    """A file that is not (readable) DICOM, with a sentence saying why."""

    path: Path
    reason: str


@dataclass
class Discovery:
    """Result of :func:`discover`. ``instances`` and ``rejected`` are sorted by path."""

    instances: list[InstanceRef] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    #: DICOMDIR files met (they are indexes, not instances)
    dicomdirs: list[Path] = field(default_factory=list)
    #: True when ``cancel()`` returned True before every file was examined
    cancelled: bool = False
    #: files examined (DICOM or not)
    n_seen: int = 0


#: The attributes :class:`InstanceRef` reads; passing them as ``specific_tags`` keeps pydicom from
#: building elements (and sequences) nobody will look at.
_TAGS = [
    0x00020010,  # TransferSyntaxUID (file meta is always read; listed for clarity)
    0x00080005,  # SpecificCharacterSet (needed to decode names)
    0x00080008,  # ImageType
    0x00080016,  # SOPClassUID
    0x00080018,  # SOPInstanceUID
    0x00080020,  # StudyDate
    0x00080021,  # SeriesDate
    0x00080030,  # StudyTime
    0x00080031,  # SeriesTime
    0x00080050,  # AccessionNumber
    0x00080060,  # Modality
    0x00081030,  # StudyDescription
    0x0008103E,  # SeriesDescription
    0x00100010,  # PatientName
    0x00100020,  # PatientID
    0x00100030,  # PatientBirthDate
    0x00100040,  # PatientSex
    0x0020000D,  # StudyInstanceUID
    0x0020000E,  # SeriesInstanceUID
    0x00200010,  # StudyID
    0x00200011,  # SeriesNumber
    0x00200013,  # InstanceNumber
    0x00280002,  # SamplesPerPixel
    0x00280004,  # PhotometricInterpretation
    0x00280008,  # NumberOfFrames
    0x00280010,  # Rows
    0x00280011,  # Columns
    0x00041220,  # DirectoryRecordSequence (marks a DICOMDIR without file meta)
]


def _int_or_none(value: object) -> int | None:
    try:
        return int(float(str(value).split("\\")[0]))
    except (TypeError, ValueError):
        return None


#: Attributes whose VR uses only the default (ASCII) repertoire: read from the raw bytes directly.
#: Why: converting every value through pydicom (with validation) was half of discovery's time.
_ASCII_TAGS = frozenset(
    {
        0x00020010, 0x00020002, 0x00020003,  # file meta UIDs
        0x00080016, 0x00080018, 0x0020000D, 0x0020000E,  # UIDs
        0x00080020, 0x00080021, 0x00080030, 0x00080031, 0x00100030,  # DA/TM
        0x00080060, 0x00100040, 0x00280004,  # CS
        0x00200011, 0x00200013, 0x00280008,  # IS
    }
)
_US_TAGS = frozenset({0x00280002, 0x00280010, 0x00280011})


def _raw(ds: Dataset, tag: int) -> object:
    """The still-undecoded element for ``tag`` (None when absent or already converted)."""
    elem = ds._dict.get(tag)
    return elem if isinstance(elem, RawDataElement) else None


def _text_tag(ds: Dataset, tag: int, keyword: str) -> str:
    """First value of an element as text, via the raw bytes when the VR is plain ASCII."""
    if tag in _ASCII_TAGS:
        elem = _raw(ds, tag)
        if elem is not None:
            value = elem.value or b""
            if isinstance(value, bytes):
                return value.decode("ascii", "replace").split("\\")[0].strip(" \0")
    elif tag in _TEXT_TAGS:
        elem = _raw(ds, tag)
        if elem is not None:
            text = _plain_ascii_text(elem.value, tag == 0x00100010)
            if text is not None:
                return text
    return _text(ds, keyword)


#: Text attributes (character-set dependent VRs) that :func:`_text_tag` may read from raw bytes
_TEXT_TAGS = frozenset({0x00100020, 0x00100010, 0x00081030, 0x0008103E, 0x00200010, 0x00080050})


def _plain_ascii_text(value: object, person_name: bool) -> str | None:
    """What pydicom's decoding + ``_text`` give for printable ASCII bytes, or None to decode fully.

    Printable ASCII (no ESC, no control bytes, no byte over 0x7E) decodes to the same characters
    in every DICOM character set, so the character set need not be consulted. Person names with
    component groups (``=``) are normalised by pydicom and go the full way.
    ``tests/dicom/test_discover.py`` compares both ways over generated values.
    """
    if not isinstance(value, bytes):
        return None
    if not value:
        return ""
    if max(value) > 0x7E or min(value) < 0x20 or (person_name and b"=" in value):
        return None
    return value.decode("ascii").split("\\")[0].strip()


def _us_tag(ds: Dataset, tag: int, keyword: str) -> int | None:
    elem = _raw(ds, tag)
    if elem is not None and isinstance(elem.value, bytes) and len(elem.value) >= 2:
        return int.from_bytes(elem.value[:2], "little" if elem.is_little_endian else "big")
    return _int_or_none(safe_value(ds, keyword, None, lambda v: v))


def _text(ds: Dataset, keyword: str) -> str:
    return str(safe_value(ds, keyword, "", str)).strip()


def instance_ref(path: Path, ds: Dataset, has_pixels: bool, size: int | None = None) -> InstanceRef:
    """Build an :class:`InstanceRef` from a (header) dataset read from ``path``."""
    meta = getattr(ds, "file_meta", None) or Dataset()
    sop_class = _text_tag(ds, 0x00080016, "SOPClassUID") or _text_tag(meta, 0x00020002, "MediaStorageSOPClassUID")
    sop_inst = _text_tag(ds, 0x00080018, "SOPInstanceUID") or _text_tag(
        meta, 0x00020003, "MediaStorageSOPInstanceUID"
    )
    tsyntax = _text_tag(meta, 0x00020010, "TransferSyntaxUID")
    if not tsyntax:
        implicit, little = (getattr(ds, "original_encoding", None) or (True, True))[:2]
        if implicit is not None:
            tsyntax = (
                "1.2.840.10008.1.2" if implicit else ("1.2.840.10008.1.2.1" if little else "1.2.840.10008.1.2.2")
            )
    frames = _int_or_none(_text_tag(ds, 0x00280008, "NumberOfFrames"))
    preamble = getattr(ds, "preamble", None)
    return InstanceRef(
        path=path,
        size=size if size is not None else _size(path),
        patient_id=_text_tag(ds, 0x00100020, "PatientID"),
        patient_name=_text_tag(ds, 0x00100010, "PatientName"),
        study_uid=_text_tag(ds, 0x0020000D, "StudyInstanceUID"),
        study_date=_text_tag(ds, 0x00080020, "StudyDate"),
        study_description=_text_tag(ds, 0x00081030, "StudyDescription"),
        series_uid=_text_tag(ds, 0x0020000E, "SeriesInstanceUID"),
        series_number=_int_or_none(_text_tag(ds, 0x00200011, "SeriesNumber")),
        series_description=_text_tag(ds, 0x0008103E, "SeriesDescription"),
        modality=_text_tag(ds, 0x00080060, "Modality"),
        sop_class_uid=sop_class,
        sop_instance_uid=sop_inst,
        instance_number=_int_or_none(_text_tag(ds, 0x00200013, "InstanceNumber")),
        number_of_frames=(frames if frames and frames > 0 else (1 if has_pixels else 0)),
        rows=_us_tag(ds, 0x00280010, "Rows") or 0,
        columns=_us_tag(ds, 0x00280011, "Columns") or 0,
        has_pixels=has_pixels,
        transfer_syntax=tsyntax,
        study_time=_text_tag(ds, 0x00080030, "StudyTime"),
        study_id=_text_tag(ds, 0x00200010, "StudyID"),
        accession_number=_text_tag(ds, 0x00080050, "AccessionNumber"),
        series_date=_text_tag(ds, 0x00080021, "SeriesDate"),
        series_time=_text_tag(ds, 0x00080031, "SeriesTime"),
        patient_birth_date=_text_tag(ds, 0x00100030, "PatientBirthDate"),
        patient_sex=_text_tag(ds, 0x00100040, "PatientSex"),
        photometric_interpretation=_text_tag(ds, 0x00280004, "PhotometricInterpretation"),
        has_preamble=preamble is not None,
    )


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _is_dicomdir(ds: Dataset) -> bool:
    meta = getattr(ds, "file_meta", None) or Dataset()
    return (
        "DirectoryRecordSequence" in ds
        or _text_tag(meta, 0x00020002, "MediaStorageSOPClassUID") == MEDIA_STORAGE_DIRECTORY
        or _text_tag(ds, 0x00080016, "SOPClassUID") == MEDIA_STORAGE_DIRECTORY
    )


def _walk(root: Path, errors: list[Rejected]) -> Iterator[Path]:
    """Every regular file under ``root``, sorted, without following symlinked folders (no cycles)."""

    def onerror(exc: OSError) -> None:
        if isinstance(exc, PermissionError):
            reason = "permission denied: the folder cannot be listed"
        else:
            reason = f"folder not readable ({exc.strerror or exc})"
        errors.append(Rejected(Path(exc.filename or root), reason))

    for dirpath, dirnames, filenames in os.walk(root, onerror=onerror, followlinks=False):
        dirnames.sort()
        for name in dirnames:
            if os.path.islink(os.path.join(dirpath, name)):  # os.walk lists but never enters it
                errors.append(Rejected(Path(dirpath, name), "link to a folder: not followed (pass it directly)"))
        for name in sorted(filenames):
            yield Path(dirpath, name)


def dicomdir_references(path: PathLike) -> tuple[list[Path], list[Rejected]]:
    """Files referenced by a DICOMDIR's records (resolved beside it), and references that are missing."""
    p = Path(path)
    ds = read_dataset(p)
    found: list[Path] = []
    missing: list[Rejected] = []
    seen: set[Path] = set()
    for record in ds.get("DirectoryRecordSequence", []) or []:
        fid = record.get("ReferencedFileID", None)
        if fid is None:
            continue
        parts = [str(fid)] if isinstance(fid, str) else [str(x) for x in fid]
        parts = [x.strip() for x in parts if str(x).strip()]
        if not parts:
            continue
        target = resolve_file_id(p.parent, parts)
        if target is None:
            ref = p.parent.joinpath(*parts)
            if ref not in seen:
                seen.add(ref)
                missing.append(Rejected(ref, f"referenced by {p.name} but not found"))
            continue
        if target not in seen:
            seen.add(target)
            found.append(target)
    return found, missing


#: files examined per parallel batch when ``discover`` is given a ``map_fn``
CHUNK = 128


def discover(
    paths: PathLike | Iterable[PathLike],
    *,
    cancel: Callable[[], bool] | None = None,
    progress: Callable[[int], object] | None = None,
    map_fn: Callable[[Callable[[Path], object], list[Path]], Iterable[object]] | None = None,
) -> Discovery:
    """Find every DICOM instance in ``paths`` (folders are searched recursively; files taken as given).

    Never raises for a single bad file or folder: it lands in ``Discovery.rejected`` with a reason.
    ``progress(n_seen)`` is called after each file examined; ``cancel()`` is polled before each file
    and, when it returns True, discovery stops and returns what it has with ``cancelled=True``.
    The order is deterministic: instances and rejected sorted by path.

    ``map_fn(examine, paths)`` (e.g. a process pool's ``map``) lets a batch caller read headers
    in parallel: files are examined in chunks of :data:`CHUNK`, the results handled in order, so
    the outcome is the same as a serial run. Cancel is then polled once per chunk.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    run = _Discoverer(cancel, progress, map_fn)
    run.consume(run.candidates(paths))
    # a DICOMDIR in the last parallel chunk adds its references after the walk has ended
    while run.queue and not run.result.cancelled:
        pending, run.queue[:] = list(run.queue), []
        run.consume(pending)
    return run.finish()


class _Discoverer:
    """State of one ``discover`` call (files seen, outcomes, queued DICOMDIR references), shared
    by the walk, the chunked (possibly parallel) examination and the DICOMDIR follow-up."""

    def __init__(
        self,
        cancel: Callable[[], bool] | None,
        progress: Callable[[int], object] | None,
        map_fn: Callable[[Callable[[Path], object], list[Path]], Iterable[object]] | None,
    ) -> None:
        self.cancel = cancel
        self.progress = progress
        self.map_fn = map_fn
        self.result = Discovery()
        self.walk_errors: list[Rejected] = []
        self.seen: set[str] = set()
        self.queue: list[Path] = []
        self.instances: dict[str, InstanceRef] = {}
        self.rejected: dict[str, Rejected] = {}
        self.dicomdirs: list[Path] = []
        self.chunk: list[Path] = []
        self.step = CHUNK if map_fn is not None else 1

    def candidates(self, paths: Iterable[PathLike]) -> Iterator[Path]:
        """Files under the given folders, the given files, then files DICOMDIRs reference."""
        for given in paths:
            g = Path(given)
            if g.is_dir():
                yield from _walk(g, self.walk_errors)
            elif g.exists() or g.is_symlink():
                yield g
            else:
                self.walk_errors.append(Rejected(g, "file not found"))
        # files referenced by DICOMDIRs that the walk did not reach
        while self.queue:
            yield self.queue.pop(0)

    def handle(self, path: Path, outcome: object) -> None:
        self.result.n_seen += 1
        if isinstance(outcome, Rejected):
            self.rejected[str(path)] = outcome
        elif outcome == "dicomdir":
            self.follow_dicomdir(path)
        else:
            self.instances[str(path)] = outcome  # type: ignore[assignment]
        if self.progress is not None:
            self.progress(self.result.n_seen)

    def follow_dicomdir(self, path: Path) -> None:
        """Queue the files a DICOMDIR references; the missing ones are rejected."""
        self.dicomdirs.append(path)
        try:
            refs, missing = dicomdir_references(path)
        except DicomReadError as exc:
            self.rejected[str(path)] = Rejected(path, f"DICOMDIR not readable: {exc.reason}")
            return
        self.queue.extend(r for r in refs if os.path.normcase(os.path.realpath(r)) not in self.seen)
        for m in missing:
            self.rejected.setdefault(str(m.path), m)

    def flush(self) -> None:
        fn = self.map_fn if self.map_fn is not None else map
        for path, outcome in zip(self.chunk, fn(_examine, self.chunk)):
            self.handle(path, outcome)
        self.chunk.clear()

    def consume(self, paths_in: Iterable[Path]) -> None:
        """Examine each file not seen yet, in chunks; stop when ``cancel()`` says so."""
        for path in paths_in:
            key = os.path.normcase(os.path.realpath(path))
            if key in self.seen:
                continue
            self.seen.add(key)
            if self.cancel is not None and self.cancel():
                self.result.cancelled = True
                return
            self.chunk.append(path)
            if len(self.chunk) >= self.step:
                self.flush()
        if self.chunk:
            self.flush()

    def finish(self) -> Discovery:
        """The result, sorted by path (deterministic whatever the walk or pool order)."""
        for r in self.walk_errors:
            self.rejected.setdefault(str(r.path), r)
        result = self.result
        result.instances = [self.instances[k] for k in sorted(self.instances)]
        result.rejected = [self.rejected[k] for k in sorted(self.rejected)]
        result.dicomdirs = sorted(self.dicomdirs)
        return result


def _examine(path: Path) -> InstanceRef | Rejected | str:
    """One file: an :class:`InstanceRef`, a :class:`Rejected`, or ``"dicomdir"``."""
    try:
        if path.is_symlink() and not path.exists():
            return Rejected(path, "broken symbolic link")
        if not path.is_file():
            return Rejected(path, "not a regular file")
        quick = quick_header(path, _TAGS)  # plain files: straight from the bytes
        if quick is not None:
            ds, has_pixels = quick
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ds, has_pixels = read_partial_header(path, specific_tags=_TAGS)
    except DicomReadError as exc:
        return Rejected(path, exc.reason)
    except OSError as exc:
        return Rejected(path, f"cannot read ({exc.strerror or exc})")
    except Exception as exc:  # noqa: BLE001 - a parser bug on one file must not end discovery
        return Rejected(path, f"unexpected error reading file ({type(exc).__name__}: {exc})")
    if _is_dicomdir(ds):
        return "dicomdir"
    if not (
        _text_tag(ds, 0x00080016, "SOPClassUID")
        or _text_tag(getattr(ds, "file_meta", None) or Dataset(), 0x00020002, "MediaStorageSOPClassUID")
        or has_pixels
        or "Rows" in ds
    ):
        return Rejected(path, "DICOM data but no SOP Class UID and no image: not a storable instance")
    try:
        return instance_ref(path, ds, has_pixels)
    except Exception as exc:  # noqa: BLE001 - unreadable header values reject the file with the reason
        return Rejected(path, f"header values not readable ({type(exc).__name__}: {exc})")
