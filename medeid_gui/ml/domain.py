"""The images a pixel-privacy model was trained for, and whether an image is one of them.

Why: the method blocks patches and fills them from what the model learned.  Run on an image unlike
its training data (the shipped weights paint a chest radiograph into a CT slice) it does harm that
looks plausible.  So every model states its domain in its manifest, and the app and the export run
the method only inside it; outside, the pixels stay as they are and the user is told why.

The check reads header attributes only (modality, body part, view, photometric interpretation,
size, frames), so it is cheap enough for discovery and needs neither pixels nor torch.  How *far*
an image inside the domain is from the training images is a separate, pixel-based score
(``ml.familiarity``).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Protocol

__all__ = ["ImageFacts", "ModelDomain", "DomainVerdict", "HeaderLike", "facts_of", "read_domain", "TRAIN_HINT"]

#: in a domain's modalities, body parts or photometric interpretations: any value is admitted
ANY = "*"
#: what the user is told to do about an image no installed model covers
TRAIN_HINT = "Train one on your archive: medeid ml train FOLDER"

#: words that name the chest in free-text descriptions when BodyPartExamined is absent
_CHEST_WORDS = re.compile(r"\b(CHEST|THORAX|THORAC\w*|TORAX|LUNGS?|CXR|PULM\w*)\b", re.IGNORECASE)
#: words that mark a lateral projection in free text (ViewPosition absent or contradicted)
_LATERAL_WORDS = re.compile(r"\b(LAT|LATERAL|LL|RL|LLD|RLD)\b", re.IGNORECASE)
_LATERAL_VIEWS = {"LL", "RL", "LLD", "RLD", "LAT", "LATERAL", "L"}


class HeaderLike(Protocol):
    """The part of a pydicom ``Dataset`` the check reads (``get`` by keyword)."""

    def get(self, key: str, default: object = None) -> object: ...


@dataclass(frozen=True)
class ImageFacts:
    """Header facts that decide the domain of one image object."""

    modality: str = ""
    body_part: str = ""  #: BodyPartExamined, or the body part named in a description
    view: str = ""  #: ViewPosition ("PA", "AP", "LL", ...), "" when not stated
    lateral_hint: bool = False  #: a description calls the image lateral
    photometric: str = ""
    rows: int = 0
    columns: int = 0
    frames: int = 1

    @property
    def label(self) -> str:
        """How the user names such images: ``CT HEAD``, ``CR CHEST PA``, ``MR``."""
        parts = [self.modality or "unknown modality", self.body_part, self.view]
        return " ".join(p for p in parts if p)


def _text(ds: HeaderLike, key: str) -> str:
    value = ds.get(key, "")
    return str(value).strip() if value is not None else ""


def _int(ds: HeaderLike, key: str, default: int) -> int:
    try:
        return int(ds.get(key, default) or default)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return default


def facts_of(ds: HeaderLike) -> ImageFacts:
    """The facts of one dataset (header only; no pixel data is read)."""
    described = " ".join(_text(ds, k) for k in ("StudyDescription", "SeriesDescription", "ProtocolName"))
    body = _text(ds, "BodyPartExamined").upper()
    if not body and _CHEST_WORDS.search(described):
        body = "CHEST"
    return ImageFacts(
        modality=_text(ds, "Modality").upper(),
        body_part=body,
        view=_text(ds, "ViewPosition").upper(),
        lateral_hint=bool(_LATERAL_WORDS.search(described)),
        photometric=_text(ds, "PhotometricInterpretation").upper(),
        rows=_int(ds, "Rows", 0),
        columns=_int(ds, "Columns", 0),
        frames=_int(ds, "NumberOfFrames", 1),
    )


@dataclass(frozen=True)
class DomainVerdict:
    """Whether a model may run on an image, and in words why not."""

    inside: bool
    reason: str = ""  #: empty when inside; one line for the user and the manifest otherwise


@dataclass(frozen=True)
class ModelDomain:
    """The images a model was trained for (kept in its manifest, shown in its card)."""

    name: str  #: e.g. "frontal chest radiographs"
    modalities: tuple[str, ...]
    body_parts: tuple[str, ...]
    views: tuple[str, ...] = ()  #: accepted ViewPosition values; empty: any non-lateral view
    photometric: tuple[str, ...] = ("MONOCHROME1", "MONOCHROME2")
    min_side: int = 128
    max_side: int = 8192
    max_frames: int = 1
    trained_on: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)

    def check(self, facts: ImageFacts) -> DomainVerdict:
        """Inside or not, with the first reason that rules the image out."""
        why = self._why_not(facts)
        return DomainVerdict(inside=why is None, reason="" if why is None else why)

    def _why_not(self, f: ImageFacts) -> str | None:
        if f.modality not in self.modalities and ANY not in self.modalities:
            return f"no pixel privacy model for {f.label} (the model covers {self.name})"
        if ANY in self.body_parts:
            pass  # a site's model declared for every body part (e.g. trained on its whole archive)
        elif not f.body_part:
            return f"body part not stated in the header; the model covers {self.name} only"
        elif f.body_part not in self.body_parts:
            return f"no pixel privacy model for {f.label} (the model covers {self.name})"
        if f.lateral_hint and not (set(self.views) & _LATERAL_VIEWS):
            return f"the image is described as lateral; the model covers {self.name}"
        if f.view in _LATERAL_VIEWS or not self._view_ok(f.view):
            return f"view {f.view} is outside the model's domain ({self.name})"
        if f.photometric not in self.photometric and ANY not in self.photometric:
            pi = f.photometric or "unknown"
            return f"photometric interpretation {pi} is outside the model's domain ({self.name})"
        if f.frames > self.max_frames:
            return f"{f.frames}-frame object; the model covers single images ({self.name})"
        side_lo, side_hi = min(f.rows, f.columns), max(f.rows, f.columns)
        if side_lo < self.min_side or side_hi > self.max_side:
            return (
                f"image size {f.columns}x{f.rows} is outside the model's range "
                f"({self.min_side}..{self.max_side} pixels a side)"
            )
        return None

    def _view_ok(self, view: str) -> bool:
        return not view or not self.views or view in self.views

    def to_json(self) -> dict[str, object]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> ModelDomain:
        """The domain as stored in a manifest; ``ValueError`` naming what is missing or wrong."""
        if not isinstance(data, dict):
            raise ValueError("a model's domain must be a JSON object")
        missing = [k for k in ("name", "modalities", "body_parts") if k not in data]
        if missing:
            raise ValueError(f"model domain lacks {', '.join(missing)}")
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"model domain has unknown fields {unknown}")
        kw: dict[str, object] = {}
        for key, value in data.items():
            if isinstance(value, list):
                kw[key] = tuple(
                    str(v).upper() if key in ("modalities", "body_parts", "views", "photometric") else str(v)
                    for v in value
                )
            else:
                kw[key] = value
        return cls(**kw)  # type: ignore[arg-type]


def read_domain(manifest: dict[str, object]) -> ModelDomain:
    """The domain a model folder's manifest declares; ``ValueError`` when it declares none."""
    data = manifest.get("domain")
    if data is None:
        raise ValueError("the model declares no domain, so it is not run on any image")
    return ModelDomain.from_json(data)  # type: ignore[arg-type]
