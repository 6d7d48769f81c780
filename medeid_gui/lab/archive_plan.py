"""The training plan for a site's DICOM archive: its domains, which can be trained, and how long.

Why: a site points ``medeid ml train`` at whatever its archive holds — chest radiographs in two
views, CT and MR series, ultrasound.  One model per *domain* (modality + body part; radiographs
split by view), trained only where the archive has enough patients imaged on two or more days
(PatientID is the identity label; the method learns identity from a patient's different studies).
Every other domain is listed with the reason, so nobody wonders why their CT got no model.  The
plan reads headers only (no pixels, no torch), so ``--dry-run`` is fast.

CT/MR series contribute slices spread along the series (``slices_per_series``), not every slice:
neighbouring slices are near-duplicates and would only make one patient look like many images.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from medeid_gui.ml.domain import ImageFacts, ModelDomain, facts_of

__all__ = ["ArchiveImage", "DomainPlan", "ArchivePlan", "scan_archive", "estimate_seconds",
           "SECONDS_PER_STEP_128"]

#: radiograph modalities (split by view); CT/MR/... are sampled along their series
RADIOGRAPH_MODALITIES = ("CR", "DX", "DR", "RG", "OT")
SERIES_MODALITIES = ("CT", "MR", "PT", "NM")
#: seconds per training step at 128 px on one CPU thread, measured on the shipped weights' run
#: (models/medeid-training.json; idmap includes its attribution targets); x (size / 128)^2
SECONDS_PER_STEP_128 = {"reid": 0.094, "idmap": 0.53, "ssl": 0.78, "mdl": 0.24, "comp": 0.95}


@dataclass(frozen=True)
class ArchiveImage:
    """One image to train on: a file and the frame of it."""

    path: Path
    frame: int
    patient_id: str
    day: str  #: StudyDate, or the StudyInstanceUID when the date is missing
    licence: str


@dataclass
class DomainPlan:
    """One domain of the archive and the verdict on it."""

    key: str  #: file-system safe, e.g. "dx-chest-frontal"
    domain: ModelDomain
    images: list[ArchiveImage] = field(default_factory=list)
    trainable: bool = False
    reason: str = ""  #: why not trainable ('' when trainable)

    @property
    def patients(self) -> int:
        return len({im.patient_id for im in self.images})

    @property
    def multi_day_patients(self) -> int:
        days: dict[str, set[str]] = defaultdict(set)
        for im in self.images:
            days[im.patient_id].add(im.day)
        return sum(len(d) >= 2 for d in days.values())

    def licences(self) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for im in self.images:
            out[im.licence or "not stated"] += 1
        return dict(sorted(out.items()))


@dataclass
class ArchivePlan:
    """Every domain found, and the files that could not be read (listed, never fatal)."""

    root: Path
    domains: list[DomainPlan]
    bad: list[tuple[Path, str]]
    excluded_patients: int = 0  #: images left out by a patient list

    @property
    def trainable(self) -> list[DomainPlan]:
        return [d for d in self.domains if d.trainable]


def _slug(*parts: str) -> str:
    return "-".join(re.sub(r"[^a-z0-9]+", "", p.lower()) or "unknown" for p in parts)


def _domain_of(f: ImageFacts) -> tuple[str, ModelDomain, str]:
    """(key, domain, why it cannot have a model or '') of one image's header facts."""
    body = f.body_part or ""
    if f.modality in RADIOGRAPH_MODALITIES:
        lateral = f.lateral_hint or f.view in {"LL", "RL", "LLD", "RLD", "LAT", "LATERAL", "L"}
        view = "lateral" if lateral else "frontal"
        name = f"{view} {body.lower() or 'unstated body part'} radiographs ({f.modality})"
        dom = ModelDomain(name=name, modalities=(f.modality,), body_parts=(body,) if body else ())
        why = "lateral views: the model domain check admits frontal views only" if lateral else ""
        return _slug(f.modality, body, view), dom, why
    name = f"{f.modality or 'unknown modality'} {body.lower() or 'unstated body part'} images"
    dom = ModelDomain(name=name, modalities=(f.modality,), body_parts=(body,) if body else ())
    return _slug(f.modality, body), dom, ""


def _refusal(f: ImageFacts, why: str) -> str:
    if why:
        return why
    if not f.body_part:
        return "body part not stated in the headers (BodyPartExamined or a description)"
    if f.photometric not in ("MONOCHROME1", "MONOCHROME2"):
        return f"photometric interpretation {f.photometric or 'unknown'}: grey images only"
    return ""


def _spread(n: int, k: int) -> list[int]:
    """``k`` indices spread evenly over ``range(n)`` (all of them when ``n <= k``)."""
    if n <= k:
        return list(range(n))
    return sorted({round(i * (n - 1) / (k - 1)) for i in range(k)}) if k > 1 else [n // 2]


def _read(paths: Iterable[Path], patients: set[str] | None,
          bad: list[tuple[Path, str]]) -> tuple[list[tuple[Path, ImageFacts, dict[str, str]]], int]:
    """Header facts of every file with pixels; unreadable files go to ``bad``."""
    import pydicom

    from medeid_gui.dicom.import_images import licence_of

    rows, excluded = [], 0
    for path in paths:
        try:
            ds = pydicom.dcmread(path, stop_before_pixels=True)
        except Exception as exc:  # noqa: BLE001 - one bad file is listed, never fatal
            bad.append((path, f"not readable as DICOM: {type(exc).__name__}"))
            continue
        if "PixelData" not in ds and "FloatPixelData" not in ds and not int(ds.get("Rows", 0) or 0):
            continue  # no image (SR, DICOMDIR, presentation state): nothing to train on
        pid = str(ds.get("PatientID", "") or "")
        if patients is not None and pid not in patients:
            excluded += 1
            continue
        info = {"pid": pid, "day": str(ds.get("StudyDate", "") or ds.get("StudyInstanceUID", "")),
                "series": str(ds.get("SeriesInstanceUID", "") or ""),
                "inst": str(ds.get("InstanceNumber", "") or "0"),
                "licence": licence_of(ds) if ds.get("ImageComments") else ""}
        rows.append((path, facts_of(ds), info))
    return rows, excluded


def scan_archive(root: str | Path, *, patients: set[str] | None = None, min_patients: int = 10,
                 slices_per_series: int = 8) -> ArchivePlan:
    """The plan: domains with their images, trainable where ``min_patients`` patients have
    studies on two or more days; ``patients``: only these PatientIDs (e.g. a training split)."""
    root = Path(root)
    bad: list[tuple[Path, str]] = []
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.name != "DICOMDIR")
    rows, excluded = _read(files, patients, bad)
    by_key: dict[str, DomainPlan] = {}
    why_by_key: dict[str, str] = {}
    series: dict[tuple[str, str], list[tuple[int, Path, ImageFacts, dict[str, str]]]] = defaultdict(list)
    for path, f, info in rows:
        key, dom, why = _domain_of(f)
        plan = by_key.setdefault(key, DomainPlan(key, dom))
        why_by_key.setdefault(key, _refusal(f, why))
        if f.modality in SERIES_MODALITIES and f.frames == 1:
            inst = int(info["inst"]) if info["inst"].lstrip("-").isdigit() else 0
            series[(key, info["series"])].append((inst, path, f, info))
            continue
        frames = _spread(f.frames, slices_per_series) if f.modality in SERIES_MODALITIES else [f.frames // 2]
        plan.images.extend(ArchiveImage(path, k, info["pid"], info["day"], info["licence"]) for k in frames)
    for (key, _), members in sorted(series.items()):
        members.sort(key=lambda m: (m[0], str(m[1])))
        for k in _spread(len(members), slices_per_series):
            _, path, _, info = members[k]
            by_key[key].images.append(ArchiveImage(path, 0, info["pid"], info["day"], info["licence"]))
    for key, plan in by_key.items():
        n = plan.multi_day_patients
        plan.reason = why_by_key[key] or (
            f"{n} patients with >= 2 studies, needs {min_patients}" if n < max(min_patients, 2) else "")
        plan.trainable = not plan.reason
    domains = sorted(by_key.values(), key=lambda d: (not d.trainable, d.key))
    return ArchivePlan(root, domains, bad, excluded)


#: CPU seconds per training image and epoch of the three task teachers together (128 px, one
#: thread; measured on the real set: 225 images x 20 epochs in about 2.5 min)
TEACHER_SECONDS_PER_IMAGE_EPOCH = 0.03


def teacher_seconds(n_images: int, epochs: int, threads: int = 1, cuda: bool = False) -> float:
    """Rough wall time of the comp stage's task teachers (``lab.task_teachers``) for a labels CSV."""
    cpu = TEACHER_SECONDS_PER_IMAGE_EPOCH * n_images * epochs
    return cpu / 20.0 if cuda else cpu / max(1.0, threads ** 0.8)


def estimate_seconds(steps: dict[str, int], size: int, threads: int = 1, cuda: bool = False) -> float:
    """Rough wall time of one domain's training (CPU cost scales with pixels, ~1/threads)."""
    cpu = sum(SECONDS_PER_STEP_128[s] * n for s, n in steps.items()) * (size / 128) ** 2
    return cpu / 20.0 if cuda else cpu / max(1.0, threads ** 0.8)
