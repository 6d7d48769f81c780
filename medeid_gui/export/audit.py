"""``medeid audit IN OUT``: an independent check that the output does not give anyone away.

Why independent: it does not ask the header engine what it did. It reads the *originals*, takes
every value that PS3.15 Table E.1-1 (for the chosen options) says must not survive — names, IDs,
dates, free text — every original UID except those the UID rule exempts (deid/uid_rule.py:
registered UIDs and attributes that name a class, transfer syntax or coding scheme; all kept
under Retain UIDs), plus every private text value, and searches the output's raw
bytes and its paths for them. A hit is reported with the output file and where in it (element,
or byte offset). It also checks that every input is accounted for in the manifest, that every
output the manifest lists exists with the recorded hash, that nothing else lies in the output,
and that UIDs map consistently: each original UID to one pseudonym, and references that resolved
within the input still resolve within the output.

Limits (stated, not hidden): values shorter than ``MIN_LEN`` characters (4 for name parts) are
not searched in bytes, they would match by chance (paths are still checked for them as whole
tokens, down to 3 characters); times (TM) and numbers are not searched; uncompressed
pixel data is not searched (any byte string occurs in noise), encapsulated (compressed) pixel
data is searched for values of 8+ characters because JPEG comments can carry text; values that
an original also holds (even as part of a value) in an attribute the profile keeps are not counted (they are not the
identifying part). Burned-in text in pixels is the pixel module's job, not this byte search.
"""

from __future__ import annotations

import hashlib
import re
import warnings
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from medeid_gui.deid.options import Option
from medeid_gui.export.audit_values import (
    MIN_LEN,
    MIN_NAME_PART,
    MIN_PIXEL_LEN,
    Collector,
    Needles,
    Origin,
    is_wellknown_uid,
    mask,
    str_values,
)

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

    from medeid_gui.export.audit_pixels import PixelFinding

__all__ = ["audit", "AuditReport", "Hit", "Origin", "mask", "MIN_LEN", "MIN_NAME_PART"]

_PIXEL_TAG = b"\xe0\x7f\x10\x00"
_DEFLATED = {"1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.8.1"}


@dataclass(frozen=True)
class Hit:
    output: str  # output-relative path
    location: str  # "path" or "<element path>" or "byte 1234"
    category: str
    attribute: str
    value_masked: str
    input_path: str

    def line(self) -> str:
        return (
            f"LEAK {self.category} ({self.attribute}) {self.value_masked!r} in {self.output} "
            f"at {self.location} [from {self.input_path}]"
        )


@dataclass
class AuditReport:
    hits: list[Hit] = field(default_factory=list)
    inputs: int = 0
    outputs_scanned: int = 0
    values_collected: int = 0
    unaccounted: list[str] = field(default_factory=list)  # inputs with no manifest row
    missing_outputs: list[str] = field(default_factory=list)  # manifest says exported, file absent
    hash_mismatches: list[str] = field(default_factory=list)
    stray_outputs: list[str] = field(default_factory=list)  # files in OUT the manifest does not know
    uid_problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: burned-in PHI of an original still readable by OCR in its output (``pixels=True``)
    pixel_findings: list[PixelFinding] = field(default_factory=list)
    pixel_files_read: int = 0
    pixel_frames_read: int = 0

    @property
    def ok(self) -> bool:
        return not (
            self.hits
            or self.unaccounted
            or self.missing_outputs
            or self.hash_mismatches
            or self.stray_outputs
            or self.uid_problems
            or self.pixel_findings
        )


def _read_header(path: Path) -> Dataset:
    import pydicom

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(path, stop_before_pixels=True, force=True)


def _regions(data: bytes) -> tuple[bytes, bytes, bool]:
    """(header bytes, pixel bytes, pixels encapsulated) of a Part 10 file."""
    idx = data.rfind(_PIXEL_TAG)
    header, pixels = (data, b"") if idx < 0 else (data[:idx], data[idx:])
    m = re.search(rb"\x02\x00\x10\x00(?:UI..)?([0-9.]+)", data[:2048])
    ts = m.group(1).decode() if m else ""
    if ts in _DEFLATED:
        try:
            meta_end = data.find(b"\x08\x00", 132)
            header = header + zlib.decompress(data[meta_end:], -15)
        except Exception:  # noqa: BLE001 - a non-deflated body is searched as it is
            pass
    encapsulated = bool(pixels[4:6] == b"OB" and pixels[8:12] == b"\xff\xff\xff\xff")
    return header, pixels, encapsulated


def _element_of(ds: Dataset, value: str) -> tuple[str, str]:
    """(element name, kind) holding ``value``: kind is text, raw (private/UN bytes) or binary."""
    meta = getattr(ds, "file_meta", None)
    elems = list(meta.iterall()) if meta is not None else []
    for elem in elems + list(ds.iterall()):
        try:
            if elem.VR == "SQ":
                continue
            name = elem.keyword or str(elem.tag)
            if any(value in s for s in str_values(elem)):
                return name, "text"
            if isinstance(elem.value, (bytes, bytearray)) and value.encode("utf-8", "ignore") in elem.value:
                raw = elem.tag.is_private or elem.VR == "UN"
                return f"{name} (raw bytes)", "raw" if raw else "binary"
        except Exception:  # noqa: BLE001 - an element that cannot be read is not where the value is
            continue
    return "", ""


def _ui_paths(ds: Dataset, prefix: str = "") -> Iterator[tuple[str, str]]:
    for elem in ds:
        kw = elem.keyword or f"{int(elem.tag):08X}"
        if elem.VR == "SQ":
            for i, item in enumerate(elem.value or []):
                yield from _ui_paths(item, f"{prefix}{kw}[{i}].")
        elif elem.VR == "UI" and elem.value:
            for v in str_values(elem):
                yield f"{prefix}{kw}", v.strip()


_TOP_UIDS = ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "FrameOfReferenceUID")


def audit(
    input_dir: Path,
    output_dir: Path,
    *,
    manifest: Path | None = None,
    state_dir: Path | None = None,
    options: frozenset[Option] = frozenset(),
    progress: Callable[[int, int], None] | None = None,
    pixels: bool = False,
    pixel_max_frames: int | None = None,
) -> AuditReport:
    """Run every check; see the module docstring.

    ``pixels``: also read every exported DICOM's frames with the OCR (``audit_pixels``; all
    frames up to ``pixel_max_frames`` per file, default 16, else an even sample, noted) and report
    any PHI value of its original still readable.  Off by default here because it costs seconds
    per frame; ``medeid audit`` turns it on unless ``--no-pixels``.
    """
    from medeid_gui.deid.profile import load_profile
    from medeid_gui.export.pipeline import _walk_all
    from medeid_gui.export.rundb import EXPORTED, read_manifest_csv, run_dir_for

    inp, out = Path(input_dir), Path(output_dir)
    rep = AuditReport()
    rules, _patterns = load_profile().compile(frozenset(options))
    col = Collector(rules, Option.RETAIN_SAFE_PRIVATE in options, Option.RETAIN_UIDS in options)

    mpath = Path(manifest) if manifest else run_dir_for(out, state_dir) / "manifest.csv"
    rows = read_manifest_csv(mpath) if mpath.is_file() else []
    if not rows:
        rep.notes.append(f"no manifest found at {mpath}; accounting and UID checks skipped")
    by_input = {r["input_path"]: r for r in rows}

    # 1. originals: collect identifying values; accounting
    in_paths: dict[str, Path] = {}
    originals = _collect_originals(inp, rows, by_input, col, rep, in_paths)
    needles = Needles.of(col)
    rep.values_collected = len(needles.values)

    # 2. outputs: raw bytes and paths
    expected = {r["output_path"]: r for r in rows if r["status"] == EXPORTED and r["output_path"]}
    out_files = [p for p in _walk_all(out)] if out.exists() else []
    frame_dirs = {k for k in expected if not Path(k).suffix}
    for i, p in enumerate(out_files):
        rel = p.relative_to(out).as_posix()
        if progress:
            progress(i + 1, len(out_files))
        if (
            rows
            and rel not in expected
            and rel not in ("DICOMDIR", "metadata.csv")
            and not any(rel.startswith(d + "/") for d in frame_dirs)
        ):
            rep.stray_outputs.append(rel)
        _path_hits(rep, rel, needles)
        _scan_file(rep, p, rel, needles, expected)
    for rel in expected:
        if not (out / rel).exists():
            rep.missing_outputs.append(rel)

    # 3. UID consistency: one pseudonym per original; references still resolve
    if rows:
        _check_uids(rep, originals, {k: out / by_input[k]["output_path"] for k in originals})

    # 4. burned-in text: what an OCR still reads of each original's PHI in its output's pixels
    if pixels:
        _audit_pixels(rep, [(in_paths[k], out / by_input[k]["output_path"]) for k in originals], pixel_max_frames)
    return rep


def _audit_pixels(rep: AuditReport, pairs: list[tuple[Path, Path]], max_frames: int | None) -> None:
    """OCR the exported DICOM files (frame folders of PNG/NPY are not read) against their originals."""
    from medeid_gui.export.audit_pixels import audit_pixels
    from medeid_gui.pixels.burned_in import MAX_TEXT_FRAMES

    dicom = [(o, p) for o, p in pairs if p.is_file() and p.suffix.lower() in (".dcm", "")]
    if len(dicom) < len(pairs):
        rep.notes.append(f"pixels: {len(pairs) - len(dicom)} output(s) not DICOM files (frames exports): not read")
    px = audit_pixels(dicom, max_frames=max_frames or MAX_TEXT_FRAMES)
    rep.pixel_findings += px.findings
    rep.pixel_files_read += px.files_checked
    rep.pixel_frames_read += px.frames_checked
    rep.notes += [f"pixels: {n}" for n in px.notes]


def _collect_originals(
    inp: Path,
    rows: list[dict[str, str]],
    by_input: dict[str, dict[str, str]],
    col: Collector,
    rep: AuditReport,
    paths: dict[str, Path],
) -> dict[str, Dataset]:
    """Walk IN: collect identifying values, note inputs the manifest lacks; the exported ones
    (their files go into ``paths`` by manifest key)."""
    from medeid_gui.export.pipeline import _walk_all, display_path
    from medeid_gui.export.rundb import EXPORTED

    in_files = _walk_all(inp)
    rep.inputs = len(in_files)
    originals: dict[str, Dataset] = {}
    for p in in_files:
        key = display_path(p)
        if rows and key not in by_input:
            rep.unaccounted.append(key)
        try:
            ds = _read_header(p)
        except Exception:  # noqa: BLE001 - not DICOM: nothing to collect
            continue
        if not len(ds):
            continue
        try:
            col.add_dataset(ds, key)
        except Exception as exc:  # noqa: BLE001 - an unwalkable input is a note in the report
            rep.notes.append(f"could not walk {key}: {type(exc).__name__}")
        if key in by_input and by_input[key]["status"] == EXPORTED:
            originals[key] = ds
            paths[key] = p
    return originals


def _path_hits(rep: AuditReport, rel: str, needles: Needles) -> None:
    """Identifying values in an output's path: as substrings, and short ones as whole tokens."""
    if needles.pattern is not None:
        for m in needles.pattern.finditer(rel.encode("utf-8", "surrogateescape")):
            v = needles.by_bytes[m.group()]
            o = needles.values[v]
            rep.hits.append(Hit(rel, "path", o.category, o.attribute, mask(v), o.input_path))
    for tok in re.split(r"[/_.\-\s]+", rel):
        if tok in needles.short:
            o = needles.short[tok]
            rep.hits.append(Hit(rel, "path", o.category, o.attribute, mask(tok), o.input_path))


def _scan_file(rep: AuditReport, p: Path, rel: str, needles: Needles, expected: dict[str, dict[str, str]]) -> None:
    """Hash check against the manifest, then identifying values in the file's bytes."""
    try:
        data = p.read_bytes()
    except OSError as exc:
        rep.notes.append(f"cannot read output {rel}: {exc.strerror}")
        return
    rep.outputs_scanned += 1
    if (
        rel in expected
        and expected[rel]["output_sha256"]
        and hashlib.sha256(data).hexdigest() != expected[rel]["output_sha256"]
    ):
        rep.hash_mismatches.append(rel)
    if p.suffix in (".png", ".npy"):
        return  # pixel values only; metadata.csv is text and searched below
    header, pixels, encapsulated = _regions(data)
    found: dict[str, int] = {}
    if needles.pattern is not None:
        for m in needles.pattern.finditer(header):
            found.setdefault(needles.by_bytes[m.group()], m.start())
    if needles.long_pattern is not None and encapsulated:
        for m in needles.long_pattern.finditer(pixels):
            found.setdefault(needles.by_bytes[m.group()], len(header) + m.start())
    if not found:
        return
    try:
        ods = _read_header(p)
    except Exception:  # noqa: BLE001 - an unparsable output is still searched as bytes
        ods = None
    for v, off in sorted(found.items(), key=lambda t: t[1]):
        o = needles.values[v]
        where, kind = _element_of(ods, v) if ods is not None else ("", "")
        if kind == "binary" and len(v) < MIN_PIXEL_LEN:
            continue  # a short string inside a LUT/overlay/waveform array: chance
        rep.hits.append(
            Hit(
                rel, f"{where} (byte {off})" if where else f"byte {off}", o.category, o.attribute, mask(v), o.input_path
            )
        )


def _check_uids(rep: AuditReport, originals: dict[str, Dataset], outputs: dict[str, Path]) -> None:
    mapping: dict[str, set[str]] = defaultdict(set)
    in_targets: set[str] = set()
    out_targets: set[str] = set()
    pairs: list[tuple[str, str, str, str]] = []  # (input key, path, orig, new)
    for key, ids in originals.items():
        op = outputs[key]
        if op.suffix != ".dcm" and not op.is_file():
            continue
        try:
            ods = _read_header(op)
        except Exception:  # noqa: BLE001 - an unparsable output has no UIDs to compare
            continue
        for kw in _TOP_UIDS:
            if ids.get(kw):
                in_targets.add(str(ids.get(kw)))
            if ods.get(kw):
                out_targets.add(str(ods.get(kw)))
        opaths = dict(_ui_paths(ods))
        for path, v in _ui_paths(ids):
            if is_wellknown_uid(v) or len(v) < 10 or v.count(".") < 2:
                continue
            new = opaths.get(path)
            if new is None:
                continue  # removed by the profile: nothing to map
            mapping[v].add(new)
            pairs.append((key, path, v, new))
    for orig, news in mapping.items():
        if len(news) > 1:
            rep.uid_problems.append(f"UID {mask(orig)} became {len(news)} different values")
    for key, path, orig, new in pairs:
        if "." in path and orig in in_targets and new not in out_targets:
            rep.uid_problems.append(f"{key}: reference {path} resolved in the input but not in the output")
