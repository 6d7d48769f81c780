"""Installed pixel-privacy models: the shipped one and a site's own, each for its domain.

Why: one set of weights cannot serve every image.  A site trains models on its own archive
(``medeid ml train``), one per domain (frontal chest radiographs, ...), and the app and the export
pick, per image, the model whose domain admits it — or none, and then the pixels are left as they
are and the user is told why.  A model is a folder: weights, cards, ``manifest.json`` with every
file's sha256, the domain, the measured risk curve, the licence notice.  The folder is the unit
that moves between workstations (``export_model`` / ``import_model``): every byte is verified on
import, so a tampered or incomplete model is refused instead of silently changing patient images.

Where: the shipped ``models/`` folder, then ``<user data>/medeid/models/<name>/`` (or
``$MEDEID_USER_MODELS``).  When several admit an image, a site's model wins over the shipped one
(it was trained on that site's images), and among site models the most recently installed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from medeid_gui.ml.domain import DomainVerdict, ImageFacts, ModelDomain, read_domain
from medeid_gui.ml.risk import NOT_ASSESSED, RiskCurve, RiskReadout, read_risk_curve
from medeid_gui.ml.weights import MANIFEST, WeightsError, read_manifest, sha256_file

__all__ = ["InstalledModel", "ModelChoice", "user_models_dir", "installed_models", "choose_model",
           "describe_model", "export_model", "import_model", "ModelImportError", "risk_readout"]

#: a fixed time stamp for every member of an exported archive, so one model gives one archive
_ZIP_TIME = (2020, 1, 1, 0, 0, 0)


class ModelImportError(RuntimeError):
    """A model archive or folder is incomplete, tampered with, or not a model."""


@dataclass(frozen=True)
class InstalledModel:
    """One model folder as the registry sees it (nothing loaded into torch yet)."""

    folder: Path
    name: str
    domain: ModelDomain
    risk: RiskCurve | None
    licence: str
    evaluation: str  #: one line: the measured privacy and utility
    digest: str  #: sha256 over the manifest's file table: the model's identity
    shipped: bool

    @property
    def short(self) -> str:
        return f"{self.name} ({self.digest[:12]})"


@dataclass(frozen=True)
class ModelChoice:
    """The model for one image, or None with the reason shown to the user and in the manifest."""

    model: InstalledModel | None
    verdict: DomainVerdict


def user_models_dir() -> Path:
    override = os.environ.get("MEDEID_USER_MODELS")
    if override:
        return Path(override)
    from platformdirs import user_data_dir

    return Path(user_data_dir("medeid", appauthor=False)) / "models"


def _digest(manifest: dict[str, object]) -> str:
    files = manifest.get("files", {})
    table = json.dumps({k: v.get("sha256") for k, v in sorted(files.items())}, sort_keys=True)  # type: ignore[union-attr]
    return hashlib.sha256(table.encode()).hexdigest()


def describe_model(folder: str | Path, *, shipped: bool = False) -> InstalledModel:
    """Read (not verify) a model folder's manifest; ``WeightsError`` when it is not a usable model."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    try:
        domain = read_domain(manifest)
        risk = read_risk_curve(manifest)
    except ValueError as exc:
        raise WeightsError(f"{folder}: {exc}") from exc
    return InstalledModel(
        folder=folder, name=str(manifest.get("name") or folder.name), domain=domain, risk=risk,
        licence=str(manifest.get("licence", "not stated")),
        evaluation=str(manifest.get("evaluation", "not evaluated")),
        digest=_digest(manifest), shipped=shipped,
    )


def installed_models(*, shipped_dir: Path | None = None, user_dir: Path | None = None) -> list[InstalledModel]:
    """Every usable model: site models (newest first), then the shipped one.

    A folder that is not a usable model is left out (``problems`` of :func:`scan_models` says why).
    """
    return scan_models(shipped_dir=shipped_dir, user_dir=user_dir)[0]


def scan_models(*, shipped_dir: Path | None = None,
                user_dir: Path | None = None) -> tuple[list[InstalledModel], list[tuple[Path, str]]]:
    from medeid_gui._resources import models_dir

    found: list[InstalledModel] = []
    problems: list[tuple[Path, str]] = []
    user = user_dir if user_dir is not None else user_models_dir()
    folders = sorted((p for p in user.iterdir() if (p / MANIFEST).is_file()),
                     key=lambda p: (p / MANIFEST).stat().st_mtime, reverse=True) if user.is_dir() else []
    for folder in folders:
        try:
            found.append(describe_model(folder))
        except WeightsError as exc:
            problems.append((folder, str(exc)))
    shipped = shipped_dir if shipped_dir is not None else models_dir()
    try:
        found.append(describe_model(shipped, shipped=True))
    except (WeightsError, FileNotFoundError) as exc:
        problems.append((Path(shipped), str(exc)))
    return found, problems


def choose_model(facts: ImageFacts, models: Iterable[InstalledModel]) -> ModelChoice:
    """The first model whose domain admits the image; else the first refusal's reason."""
    first: DomainVerdict | None = None
    for model in models:
        verdict = model.domain.check(facts)
        if verdict.inside:
            return ModelChoice(model, verdict)
        first = first or verdict
    return ModelChoice(None, first or DomainVerdict(False, "no pixel privacy model is installed"))


def risk_readout(facts: ImageFacts, privacy: float, models: Iterable[InstalledModel]) -> RiskReadout:
    """The re-identification risk shown for one image at ``privacy``: the measured curve of the
    model whose domain admits it, or "not assessed" (no model for the image, or a model without a
    measured curve) -- never a number that was not measured for such images."""
    choice = choose_model(facts, models)
    if choice.model is None or choice.model.risk is None:
        return NOT_ASSESSED
    return choice.model.risk.readout(privacy)


def _members(manifest: dict[str, object]) -> list[str]:
    """The manifest's files and the cards they name: what a model folder consists of."""
    files: dict[str, dict[str, object]] = manifest["files"]  # type: ignore[assignment]
    cards = {str(e["card"]) for e in files.values() if e.get("card")}
    return sorted(set(files) | cards)


def verify_folder(folder: Path, *, only_members: bool = False) -> dict[str, object]:
    """Check every file the manifest lists (present, sha256) and that it declares a domain.

    ``only_members``: also refuse any file that is neither listed nor a listed file's card (an
    imported folder must be exactly a model, nothing smuggled beside it).
    """
    manifest = read_manifest(folder)
    files: dict[str, dict[str, object]] = manifest["files"]  # type: ignore[assignment]
    if not files:
        raise ModelImportError(f"{folder}: the manifest lists no files")
    for name, entry in files.items():
        path = folder / name
        if Path(name).name != name:
            raise ModelImportError(f"{folder}: manifest names a file outside the folder: {name!r}")
        if not path.is_file():
            raise ModelImportError(f"{folder}: {name} is missing (the model is incomplete)")
        if sha256_file(path) != entry.get("sha256"):
            raise ModelImportError(f"{folder}: {name} does not match its sha256 in the manifest; "
                                   "the model was changed after it was made and is refused")
    if only_members:
        allowed = set(_members(manifest)) | {MANIFEST}
        extra = sorted(p.name for p in folder.iterdir() if p.name not in allowed)
        if extra:
            raise ModelImportError(f"{folder}: files that are not part of the model: {', '.join(extra)}")
    try:
        read_domain(manifest)
    except ValueError as exc:
        raise ModelImportError(f"{folder}: {exc}") from exc
    return manifest


def export_model(folder: str | Path, archive: str | Path) -> Path:
    """Write the (verified) model folder as a zip whose bytes depend only on the model's files."""
    folder, archive = Path(folder), Path(archive)
    manifest = verify_folder(folder)
    names = [MANIFEST] + [n for n in _members(manifest) if (folder / n).is_file()]
    tmp = archive.with_name(archive.name + ".part")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in (folder / n for n in names):
            info = zipfile.ZipInfo(path.name, date_time=_ZIP_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, path.read_bytes())
    tmp.replace(archive)
    return archive


def import_model(archive: str | Path, *, user_dir: Path | None = None) -> InstalledModel:
    """Unpack, verify every byte, then install under the user models folder (atomic rename)."""
    archive = Path(archive)
    dest_root = user_dir if user_dir is not None else user_models_dir()
    dest_root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".import-", dir=dest_root))
    try:
        try:
            with zipfile.ZipFile(archive) as zf:
                for member in zf.infolist():
                    if member.is_dir() or Path(member.filename).name != member.filename:
                        raise ModelImportError(f"{archive}: unexpected entry {member.filename!r}")
                    (work / member.filename).write_bytes(zf.read(member))
        except (zipfile.BadZipFile, zlib.error, OSError) as exc:  # zlib: a changed byte in a member
            raise ModelImportError(f"{archive} is not a readable model archive: {exc}") from exc
        try:
            manifest = verify_folder(work, only_members=True)
        except WeightsError as exc:
            raise ModelImportError(f"{archive}: {exc}") from exc
        name = str(manifest.get("name") or archive.stem)
        final = dest_root / f"{name}-{_digest(manifest)[:12]}"
        if final.exists():
            shutil.rmtree(work)
            return describe_model(final)
        work.rename(final)
        return describe_model(final)
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
